/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The redaction scanner: one left-to-right pass over a message that finds
 * identifiers, contact details, dates of birth, addresses, names and health
 * terms, and the replacement step that turns findings into "[CATEGORY]".
 *
 * How it stays linear: the main loop visits every token once; each detector
 * started at a token reads a bounded window ahead (dictionary walk limited by
 * the longest term, number runs by MAX_RUN digits, names by three words) or
 * looks back only into a four-token ring. Context words ("geb.", "Tel.",
 * "Rechnung") are remembered as the offset where they ended, so "is there a
 * birth word in the last 48 bytes" costs one subtraction.
 *
 * What it does not do: no allocation, no I/O, no global mutable state (the
 * scan state lives on the stack). Check-digit algorithms are in redact_ids.c,
 * the dictionary automaton is generated into redact_tables.c at build time,
 * and decisions about what to do with findings are in decide.c.
 */
#include "redact.h"

#include "redact_ids.h"
#include "redact_tables.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
/* REDACT_TOK_SCALAR (a test aid) builds the scalar tokenizer on x86-64 too. */
#if defined(__SSE2__) && !defined(REDACT_TOK_SCALAR)
#define TOK_SSE2 1
#include "bytes_sse2.h"
#endif
/* On x86-64 the tokenizer also has a 64-byte path with AVX-512BW, taken
 * when the CPU has it (redact_engine_new asks; tokmap.wide). */
#if defined(TOK_SSE2) && defined(__x86_64__) && defined(__GNUC__)
#define TOK_WIDE 1
#include <immintrin.h>
#endif

/* Rule ids: stable numbers that audit records carry (never reuse one). */
enum {
    R_NONE = 0,
    R_KVNR,
    R_RVNR,
    R_STEUERID,
    R_AT_SVNR,
    R_PESEL,
    R_NIP,
    R_TAJ,
    R_HU_PERSONAL,
    R_HU_TAX,
    R_NHS,
    R_SSN,
    R_IBAN,
    R_EMAIL,
    R_PHONE_INTL,
    R_PHONE_NATIONAL,
    R_PHONE_CONTEXT,
    R_DOB_CONTEXT,
    R_DOB_YEAR,
    R_PERSON_INTRO,
    R_PERSON_TITLE,
    R_PERSON_GREETING,
    R_PERSON_SIGNOFF,
    R_PERSON_FIRSTNAME,
    R_ADDR_STREET,
    R_ADDR_POSTCODE,
    R_ICD10,
    R_DICT_CONDITION,
    R_DICT_MEDICATION,
    R_DICT_TREATMENT,
    R_HEALTH_TAIL, /* compound head or medical suffix found from the word end */
    R_HEALTH_LAY,  /* body part next to a pain/symptom word */
    R_PERSON_BIRTH, /* a name right before a birth word: "Selin Aydın, geb." */
    R_HEALTH_FINDING, /* lab marker with its result or value: "PSA came back raised" */
    R_HEALTH_EXAM,    /* examination with its object: "MRI of the lumbar spine" */
    R_HEALTH_STATE,   /* body part with a state predicate: "wound is oozing" */
    R_HEALTH_INFL,    /* inflected hu/pl word whose stem is a listed term: "lítiumot", "jaskrę" */
    R_HEALTH_PSTATE,  /* person state after a copula: "I'm exhausted", "jest osłabiony" */
    R_HEALTH_VACC,    /* vaccination or test with its object: "vaccine against hepatitis A" */
    R__COUNT
};

/* Rules that run for few words stay out of line: inlined into on_word they
 * grew it enough that the compiler split step() out of it again, which cost
 * more than the rules themselves (callgrind, sets1: +200 k instructions). */
#define RARE_PATH __attribute__((noinline))

static const char *const rule_names[R__COUNT] = {"none",
                                                 "id.kvnr",
                                                 "id.rvnr",
                                                 "id.steuer_id",
                                                 "id.at_svnr",
                                                 "id.pesel",
                                                 "id.nip",
                                                 "id.taj",
                                                 "id.hu_personal",
                                                 "id.hu_tax",
                                                 "id.nhs",
                                                 "id.ssn",
                                                 "id.iban",
                                                 "contact.email",
                                                 "phone.international",
                                                 "phone.national",
                                                 "phone.context",
                                                 "dob.context",
                                                 "dob.year",
                                                 "person.intro",
                                                 "person.title",
                                                 "person.greeting",
                                                 "person.signoff",
                                                 "person.firstname",
                                                 "address.street",
                                                 "address.postcode",
                                                 "icd10",
                                                 "dict.condition",
                                                 "dict.medication",
                                                 "dict.treatment",
                                                 "health.tail",
                                                 "health.lay",
                                                 "person.before_birth",
                                                 "health.finding",
                                                 "health.exam",
                                                 "health.state",
                                                 "health.infl",
                                                 "health.pstate",
                                                 "health.vacc"};

static const char *const cat_names[REDACT_CAT__COUNT] = {
    "NATIONAL_ID", "HEALTH_ID", "IBAN",      "EMAIL",      "PHONE",    "DOB",
    "PERSON",      "ADDRESS",   "CONDITION", "MEDICATION", "TREATMENT"};

/* Window sizes in bytes after a context word within which it still applies. */
#define WIN_BIRTH 40
#define WIN_BIRTH_YEAR 12 /* a bare year right after the birth word */
#define WIN_PHONE 40
#define WIN_NEG 24
#define WIN_ID 40
#define WIN_ADDR 80
#define WIN_ICD 40
#define MAX_RUN 40 /* compacted characters in one number/identifier run */
#define NO_CTX ((size_t)-1)

/* The kinds of one terminal entry for one message language: the union of the
 * language slots that language selects (all of them for auto). */
typedef struct {
    uint64_t exact, stem;
} lang_term;

struct redact_engine {
    const redact__tables *t;
    const redact__tables *tail; /* reversed tail lists, walked from a word end */
    /* Per language (redact_lang), owned by the engine: the terminal entries
     * of t and of tail with their slots already combined, so a walk that
     * meets a term state reads two words instead of combining ten.
     * dict_terms[lang * t->n_terms + term], tail_terms the same for tail
     * (exact kinds only: the tail lists have no stems). */
    lang_term *dict_terms;
    uint64_t *tail_terms;
    /* pl_last[c]: the Polish endings (bit k: redact__pl_endings[k]) whose folded
     * last byte is c, so a word is compared only with those (infl_init). */
    uint64_t pl_last[256];
    /* The state of t after two ASCII letters or digits from the root, indexed
     * by their label classes: pair[t->cls[a] * pair_nc + t->cls[b]]. 0 when
     * no term starts so, PAIR_SLOW when the state after the first byte ends
     * a term that matters inside a word (RT_MID: its kinds must be looked
     * at, so the walk takes both steps).
     * The same allocation holds, right after those pair_nc * pair_nc
     * entries, tail_match's first two steps (tail_pair, below), indexed by
     * t's classes too so that scans reach it through the pair pointer they
     * already hold. Owned by the engine. */
    uint32_t *pair;
    size_t pair_nc;
    /* pair_rec[k]: the record of state pair[k] (t->tr[pair[k]]) where that is
     * a state, zeros elsewhere (pair_nc * pair_nc records, 12 kB): the walk's
     * first step loads the record from the pair's index beside the state's
     * index, instead of loading the index and then the record, a second load
     * that waited for the first at every walk (about 1 % of the scan's
     * time). Owned by the engine. */
    redact__tr *pair_rec;
    /* tail_filt: a bit set of TAIL_FILT_BITS bits (tail_filt_bit) telling
     * tail_match, after its first two steps, whether the next two bytes of
     * the word (backwards) can still lead to a health term. Owned by the
     * engine. */
    uint64_t *tail_filt;
    int tok_wide; /* tok_wide_usable(), asked once */
};
#define PAIR_SLOW UINT32_MAX
/* The tail filter. Of the tail walks that get past their first two bytes
 * (tail_pair below), about 99 % find no health term: they die two or three
 * steps on, each step a dependent load and the death a mispredicted branch.
 * Bit tail_filt_bit(x, c, d) is set (tail_filt_init) for every state x of
 * tail_pair and folded ASCII letters or digits c, d (the word's third and
 * fourth bytes from its end) where the walk on from x by c, then d, can
 * still meet a term with a health kind in any language: the term ends after
 * c, or after d, or below that state. A clear bit proves tail_match would
 * find no health kind, and its callers read nothing else (the tail lists
 * hold health kinds and RK_STOP, and a stop result is 0 too); a set bit may
 * be a collision. 32 K bits (4 kB) for about a thousand pairs: about 3 % of
 * the dead walks pass by collision. */
#define TAIL_FILT_LOG 15
#define TAIL_FILT_BITS (1u << TAIL_FILT_LOG)
static inline uint32_t tail_filt_bit(uint32_t x, uint8_t c, uint8_t d)
{
    uint64_t k = ((uint64_t)x << 16 | (uint64_t)c << 8 | d) * UINT64_C(0x9E3779B97F4A7C15);
    return (uint32_t)(k >> (64 - TAIL_FILT_LOG));
}

/* The state of tail after a word's last two bytes, both ASCII letters or
 * digits (a the last one, b the one before, folded), walked backwards from
 * the root: tail_pair(e)[t->cls[a] * pair_nc + t->cls[b]]. 0 when the walk
 * dies within those two bytes, so it finds nothing (tail_match returns 0);
 * PAIR_SLOW when a term ends after one or two of them (its kinds depend on
 * the language) or when a or b has no class in t (class 0 is shared, so
 * the entry could not tell the bytes apart), and the walk starts from the
 * root. About one tail walk in five per 200 kB dies within two bytes. */
#define TAIL_PAIR(pair, nc) ((pair) + (nc) * (nc))

typedef struct {
    size_t start, end;
    unsigned cls;   /* RF_* of the first character */
    unsigned flags; /* TF_* */
    uint64_t kinds; /* dictionary kinds of this word (exact match) */
} tok;

#define TF_DIGIT (1u << 0)
#define TF_ALPHA (1u << 1)
#define TF_CAP (1u << 2)

/* Set by dict_match whether or not a term matched. at: the text offset
 * where the walk stopped; every folded byte of the text before it stepped
 * (the first folded byte of a character at it may have stepped too). infl:
 * RT_INFL when the walk passed a state so marked (redact_tables.h) after its
 * first two bytes, 0 when it passed none: then the inflection step finds
 * nothing in the word (infl_reachable). */
typedef struct {
    size_t at;
    unsigned infl;
} dstop;

typedef struct {
    size_t end;     /* end of the matched text (word end for stems) */
    uint64_t kinds; /* kinds valid at that end */
} dmatch;

/* One remembered dictionary walk: the result of dict_match at start p in a
 * text of length n (a scan copy may cut the text shorter). */
typedef struct {
    size_t p, n;
    dmatch m;   /* the match, when found (dict_walk writes it here) */
    dstop stop; /* where the walk stopped, and its RT_INFL mark */
    int found;
} dict_memo;
#define DICT_MEMO 8 /* entries, a power of two, indexed by the start's low bits */

typedef struct {
    const redact__tables *t;
    const unsigned char *s;
    size_t n;
    redact_lang lang;
    unsigned langbits;
    const lang_term *lterms;     /* the engine's dict_terms for this language */
    const uint64_t *pl_last;     /* the engine's, see there */
    const uint32_t *pair;        /* the engine's pair table and its row length */
    size_t pair_nc;
    const redact__tr *pair_rec;  /* the engine's, see there */
    const uint64_t *tail_filt;   /* the engine's, see there */
    const uint64_t *tail_lterms; /* the engine's tail_terms for this language */
    redact_finding *out;
    size_t max, cnt;
    int full;
    size_t covered;        /* end of the last finding: tokens before it are done */
    size_t ctx[RK__COUNT]; /* end offset of the last context word of each kind;
                            * only the CTX_KINDS slots are set (redact_scan) */
    size_t street_end;     /* end of the last street finding, for "…, 10115 Berlin" */
    size_t person_end;     /* end of the last person finding, for "Max Müller, 03.04.2015" */
    size_t kin_end;        /* end of the last kinship word, for "Córka (12.06.2011)" */
    size_t city_start, city_end; /* last known city, for "Leeds LS6 2QN" */
    tok prev[4];           /* ring of the last tokens, newest at (nprev-1) & 3 */
    size_t nprev;
    const redact__tables *tail;
    size_t pre_start, pre_end;   /* last run of modifier/body words, NO_CTX if none */
    size_t body_start, body_end; /* last body-part word, NO_CTX if none */
    size_t res_start, res_end;   /* last result word ("podwyższone", "magas"), NO_CTX if none */
    size_t lab_start, lab_end;   /* last lab marker not made a finding ("INR-Kontrolle") */
    size_t pverb_end;            /* end of the last copula with a person subject, NO_CTX if none */
    size_t obj_start, obj_end;   /* last pathogen or condition finding, a vaccine's object */
    /* Borrowed from redact_scan's frame, shared by scan copies: the rules walk
     * the same word again (a name check of the next word, then its own turn). */
    dict_memo *memo;
} scan;

/* ---------------------------------------------------------------- basics */

static int is_upper_ascii(unsigned char c)
{
    return c >= 'A' && c <= 'Z';
}

const char *redact_category_name(redact_category cat)
{
    if ((unsigned)cat >= REDACT_CAT__COUNT)
        return "UNKNOWN";
    return cat_names[cat];
}

const char *redact_rule_name(uint16_t rule_id)
{
    return rule_id < R__COUNT ? rule_names[rule_id] : "unknown";
}

int redact_lang_parse(const char *s, redact_lang *out)
{
    static const char *const names[] = {"auto", "de", "en", "pl", "hu"};
    *out = REDACT_LANG_AUTO;
    if (!s || !*s)
        return REDACT_OK;
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (redact_lang)i;
            return REDACT_OK;
        }
    return REDACT_E_INVAL;
}

/* RF_* classes of ASCII bytes, precomputed because the scanner asks for
 * the class of nearly every byte (about a third of the scan time otherwise).
 * Bytes from 0x80 (parts of a UTF-8 sequence) are A_MB, no RF_* bit: the
 * tokenizer loops read the table for any byte and decode only those. */
#define A_MB (1u << 7)
#define A_L (RF_WORD | RF_ALPHA)
#define A_U (RF_WORD | RF_ALPHA | RF_UPPER)
#define A_D (RF_WORD | RF_DIGIT)
static const uint8_t ascii_cls[256] = {
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   A_D, A_D, A_D, A_D, A_D, A_D, A_D, A_D, A_D,
    A_D, 0,   0,   0,   0,   0,   0,   0,   A_U, A_U, A_U, A_U, A_U, A_U, A_U, A_U, A_U, A_U, A_U,
    A_U, A_U, A_U, A_U, A_U, A_U, A_U, A_U, A_U, A_U, A_U, A_U, A_U, A_U, A_U, 0,   0,   0,   0,
    0,   0,   A_L, A_L, A_L, A_L, A_L, A_L, A_L, A_L, A_L, A_L, A_L, A_L, A_L, A_L, A_L, A_L, A_L,
    A_L, A_L, A_L, A_L, A_L, A_L, A_L, A_L, A_L, 0,   0,   0,   0,   0,
    A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB,
    A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB,
    A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB,
    A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB,
    A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB,
    A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB,
    A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB,
    A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB, A_MB,
};

/* Folded byte of each ASCII letter or digit (lower case), 0 for every other
 * byte (bytes from 0x80 are left 0 by the initializer): the automaton walk's
 * step byte in one load, without a range check. */
static const uint8_t ascii_fold[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 0, 0, 0, 0, 0, 0,
    0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0, 0, 0, 0, 0,
    0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0, 0, 0, 0, 0,
};

/* Class of the character at i (0 at or past the end). */
static inline unsigned cls_at(const scan *sc, size_t i, size_t *len)
{
    uint32_t cp;
    char f[2];
    unsigned cls;
    if (i >= sc->n) {
        if (len)
            *len = 0;
        return 0;
    }
    if (sc->s[i] < 0x80) {
        if (len)
            *len = 1;
        return ascii_cls[sc->s[i]];
    }
    size_t l = redact__utf8(sc->s, i, sc->n, &cp);
    redact__fold(cp, f, &cls);
    if (len)
        *len = l;
    return cls;
}

static int is_word_at(const scan *sc, size_t i)
{
    return (cls_at(sc, i, NULL) & RF_WORD) != 0;
}

/* ------------------------------------------------------------- tokenizer
 *
 * redact_scan's byte loops: past the bytes between words, and to the end of
 * a word with its TF_DIGIT/TF_ALPHA flags. The scan sees the text through a
 * 64-byte window of bit masks, one bit per byte, computed for the whole
 * window at once (16 bytes per step with SSE2, present on every x86-64; a
 * byte at a time on other CPUs, with the same results). Finding a word's end
 * or the next word's start is then a few bit operations instead of a loop
 * with a hard-to-predict exit per word (a word and its gap are about 7
 * bytes). Bytes from 0x80 still go to cls_at: a multi-byte character may be
 * a letter ("ü") or not (U+2019, U+00A0), which only the fold table knows.
 * The rules' look-ahead (next_word, word_end) does not use the window: it
 * reads a word here and there, often before or after it. next_word takes a
 * word's ASCII run 16 bytes at a time instead; word_end keeps its byte loop
 * (it runs for few words, and the same 16-byte run there cost more than it
 * saved). */

#if defined(TOK_SSE2)
/* Bit k of *dm / *am set when p[k] is an ASCII digit / letter; returns the
 * bits of bytes from 0x80. p[0..15] must be readable. */
static inline unsigned tok_masks(const unsigned char *p, unsigned *dm, unsigned *am)
{
    const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    *dm = (unsigned)_mm_movemask_epi8(bytes_digits(v));
    *am = (unsigned)_mm_movemask_epi8(bytes_letters(v));
    return (unsigned)_mm_movemask_epi8(v);
}
#endif

/* The window [base, base + 64) of the text s[0..n), owned by redact_scan's
 * frame. Bytes past n read as 0: no bit set. */
typedef struct {
    const unsigned char *s;
    size_t n;
    size_t base;
    uint64_t word;  /* ASCII letters and digits and the two-byte letters
                     * (two_byte_letters), but never bit 63: a word running
                     * there is looked at again from a new window */
    uint64_t digit; /* ASCII digits (never bit 63 either) */
    uint64_t more;  /* where a word may go on past a run of word bits: bytes
                     * from 0x80 that are no two-byte letter, and bit 63 */
    uint64_t start; /* bytes that may start a word or an address: ASCII
                     * letters and digits, bytes from 0x80 and '@' */
    int wide;       /* set by its maker: load windows with tok_block64 (TOK_WIDE,
                     * only where tok_wide_usable() said yes) */
} tokmap;

#if defined(TOK_SSE2)
/* The bits of p[0..15] (readable): ASCII letters and digits in *w, digits
 * in *d, bytes from 0x80 in *h, bytes that may start a word or an address
 * (those and '@') in *st; for two_byte_letters, the bytes C3 (*l3), C4 and
 * C5 (*l45), 80..BF (*ct) and 97 or B7 (*nx). */
static inline void tok_block(const unsigned char *p, unsigned *w, unsigned *d, unsigned *h,
                             unsigned *st, unsigned *l3, unsigned *l45, unsigned *ct,
                             unsigned *nx)
{
    /* As tok_masks, with the masks or-ed as vectors: one movemask each. */
    const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    const __m128i dv = bytes_digits(v);
    const __m128i wv = _mm_or_si128(dv, bytes_letters(v));
    /* A byte's top bit is set from 0x80: or-ing v itself adds those. */
    const __m128i sv = _mm_or_si128(_mm_or_si128(wv, v), _mm_cmpeq_epi8(v, _mm_set1_epi8('@')));
    *w = (unsigned)_mm_movemask_epi8(wv);
    *d = (unsigned)_mm_movemask_epi8(dv);
    *h = (unsigned)_mm_movemask_epi8(v);
    *st = (unsigned)_mm_movemask_epi8(sv);
    *l3 = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xC3)));
    *l45 = (unsigned)_mm_movemask_epi8(bytes_in_range(v, 0xC4, 2));
    *ct = (unsigned)_mm_movemask_epi8(bytes_in_range(v, 0x80, 0x40));
    *nx = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)0x97)),
                                                   _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xB7))));
}
#endif

#if defined(TOK_WIDE)
/* tok_block's bits for 64 bytes at once, into b[0..7] in tok_block's order
 * (w, d, h, st, l3, l45, ct, nx): one load and a compare into a mask
 * register each, where the SSE2 path takes four loads, thirty-two
 * movemasks and the shifts and ors that join them (about 400 instructions
 * a window, 5 % of a bulk scan's; this is about 40). p[0..63] must be
 * readable. Compiled for AVX-512BW whatever the build's target, and only
 * called when the CPU has it. */
__attribute__((target("avx512f,avx512bw"))) static void tok_block64(const unsigned char *p,
                                                                   uint64_t b[8])
{
    const __m512i v = _mm512_loadu_si512((const void *)p);
    /* [lo, lo + count) as one unsigned compare of v - lo, as bytes_in_range */
#define TOK_IN(x, lo, count)                                                               \
    _mm512_cmplt_epu8_mask(_mm512_sub_epi8((x), _mm512_set1_epi8((char)(lo))),             \
                           _mm512_set1_epi8((char)(count)))
    const __mmask64 d = TOK_IN(v, '0', 10);
    const __mmask64 w = d | TOK_IN(_mm512_or_si512(v, _mm512_set1_epi8(0x20)), 'a', 26);
    const __mmask64 h = _mm512_movepi8_mask(v);
    b[0] = w;
    b[1] = d;
    b[2] = h;
    b[3] = w | h | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('@'));
    b[4] = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8((char)0xC3));
    b[5] = TOK_IN(v, 0xC4, 2);
    b[6] = TOK_IN(v, 0x80, 0x40);
    b[7] = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8((char)0x97)) |
           _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8((char)0xB7));
#undef TOK_IN
}
#endif

/* Whether this CPU takes tok_block64 (and the OS saves its registers, which
 * libgcc's check includes). */
static int tok_wide_usable(void)
{
#if defined(TOK_WIDE)
    return __builtin_cpu_supports("avx512bw") != 0;
#else
    return 0;
#endif
}

/* The two-byte letters of a window, both bytes of each: U+00C0..U+017F
 * (C3 80 .. C5 BF) but for U+00D7 and U+00F7 (C3 97, C3 B7, no letters),
 * the accented letters of German, Polish and Hungarian. Marked as word
 * bytes, they keep tokmap_word in its bit loop through "Schmerzgefühl" or
 * "łokieć" instead of taking the multi-byte path (a fold and a
 * hard-to-predict exit) at every one of them; redact__fold classes every one
 * RF_WORD | RF_ALPHA, which is what that path would add. A lead byte in
 * bit 62 pairs with bit 63, which is never a word bit (tokmap.word), so it
 * is left to that path too: a word never stops inside a character. */
static inline uint64_t two_byte_letters(uint64_t l3, uint64_t l45, uint64_t ct, uint64_t nx)
{
    uint64_t lead = ((l3 & ~(nx >> 1)) | l45) & (ct >> 1) & ~((uint64_t)1 << 62);
    return lead | lead << 1;
}

/* Fills m's bits for the window at base (base < m->n). */
static void tokmap_load(tokmap *m, size_t base)
{
    uint64_t w = 0, d = 0, h = 0, st = 0, l3 = 0, l45 = 0, ct = 0, nx = 0;
#if defined(TOK_SSE2)
    /* No copy of the text: most messages are shorter than one window, and
     * padding them with a memset and a memcpy cost more per call than
     * tokenizing them. Every load stays inside the text; bits are placed
     * from lo, the first load's start, and moved down to base after. */
    const unsigned char *s = m->s;
    const size_t n = m->n;
    size_t lo;
    unsigned bw, bd, bh, bst, b3, b45, bct, bnx;
    if (n >= 64) {
        /* The 64 bytes at base, or the last 64 of the text when fewer are
         * left: bytes before base drop out with the shift down. */
        lo = base < n - 64 ? base : n - 64;
        unsigned k = 0;
#if defined(TOK_WIDE)
        if (m->wide) {
            uint64_t b[8];
            tok_block64(s + lo, b);
            w = b[0];
            d = b[1];
            h = b[2];
            st = b[3];
            l3 = b[4];
            l45 = b[5];
            ct = b[6];
            nx = b[7];
            k = 64;
        }
#endif
        for (; k < 64; k += 16) {
            tok_block(s + lo + k, &bw, &bd, &bh, &bst, &b3, &b45, &bct, &bnx);
            w |= (uint64_t)bw << k;
            d |= (uint64_t)bd << k;
            h |= (uint64_t)bh << k;
            st |= (uint64_t)bst << k;
            l3 |= (uint64_t)b3 << k;
            l45 |= (uint64_t)b45 << k;
            ct |= (uint64_t)bct << k;
            nx |= (uint64_t)bnx << k;
        }
    } else if (n >= 16) {
        /* Four loads at base + k, none past n - 16: the last ones overlap.
         * No load reaches past n, so no bit is set there. */
        const size_t tail = n - 16;
        lo = base < tail ? base : tail;
        for (unsigned k = 0; k < 64; k += 16) {
            size_t at = base + k < tail ? base + k : tail;
            unsigned sh = (unsigned)(at - lo); /* at most 48 */
            tok_block(s + at, &bw, &bd, &bh, &bst, &b3, &b45, &bct, &bnx);
            w |= (uint64_t)bw << sh;
            d |= (uint64_t)bd << sh;
            h |= (uint64_t)bh << sh;
            st |= (uint64_t)bst << sh;
            l3 |= (uint64_t)b3 << sh;
            l45 |= (uint64_t)b45 << sh;
            ct |= (uint64_t)bct << sh;
            nx |= (uint64_t)bnx << sh;
        }
    } else { /* a text of under 16 bytes: padded to one load */
        unsigned char pad[16];
        memset(pad, 0, sizeof pad);
        memcpy(pad, s + base, n - base);
        tok_block(pad, &bw, &bd, &bh, &bst, &b3, &b45, &bct, &bnx);
        w = bw;
        d = bd;
        h = bh;
        st = bst;
        l3 = b3;
        l45 = b45;
        ct = bct;
        nx = bnx;
        lo = base;
    }
    const unsigned down = (unsigned)(base - lo); /* below 64 */
    w >>= down;
    d >>= down;
    h >>= down;
    st >>= down;
    l3 >>= down;
    l45 >>= down;
    ct >>= down;
    nx >>= down;
#else
    const unsigned char *p = m->s + base;
    unsigned char pad[64];
    if (m->n - base < 64) { /* the last window: no byte past n is read */
        memset(pad, 0, sizeof pad);
        memcpy(pad, p, m->n - base);
        p = pad;
    }
    for (unsigned k = 0; k < 64; k++) {
        unsigned c = ascii_cls[p[k]];
        uint64_t bit = (uint64_t)1 << k;
        if (c & RF_WORD)
            w |= bit;
        if (c & RF_DIGIT)
            d |= bit;
        if (c & A_MB)
            h |= bit;
        if ((c & (RF_WORD | A_MB)) || p[k] == '@')
            st |= bit;
        if (p[k] == 0xC3)
            l3 |= bit;
        if (p[k] == 0xC4 || p[k] == 0xC5)
            l45 |= bit;
        if ((p[k] & 0xC0) == 0x80)
            ct |= bit;
        if (p[k] == 0x97 || p[k] == 0xB7)
            nx |= bit;
    }
#endif
    const uint64_t last = (uint64_t)1 << 63;
    const uint64_t two = two_byte_letters(l3, l45, ct, nx);
    m->base = base;
    m->word = (w | two) & ~last;
    m->digit = d & ~last;
    m->more = (h & ~two) | last;
    m->start = st;
}

/* Makes i (< m->n) part of m's window. */
static inline void tokmap_at(tokmap *m, size_t i)
{
    if (i - m->base >= 64) /* also when i < base: the difference wraps */
        tokmap_load(m, i);
}

/* The first byte at or after i that may start a word or an address, n if
 * none. Every byte skipped is one character that is no word character. */
static inline size_t tokmap_gap_end(tokmap *m, size_t i)
{
    while (i < m->n) {
        tokmap_at(m, i);
        uint64_t hit = m->start >> (i - m->base);
        if (hit)
            return i + (size_t)__builtin_ctzll(hit);
        i = m->base + 64;
    }
    return m->n;
}

/* End of the word starting at i (< m->n, in m's window); TF_DIGIT and
 * TF_ALPHA or-ed into *flags when the word has a digit or a letter (a
 * multi-byte word character adds its own class). */
static inline size_t tokmap_word(tokmap *m, const scan *sc, size_t i, unsigned *flags)
{
    uint64_t dacc = 0, aacc = 0;
    for (;;) {
        unsigned sh = (unsigned)(i - m->base);
        uint64_t w = m->word >> sh, d = m->digit >> sh;
        /* ~w is never 0: bit 63 - sh, the window's last byte, is a stop. */
        unsigned k = (unsigned)__builtin_ctzll(~w);
        uint64_t below = ((uint64_t)1 << k) - 1;
        dacc |= d & below;
        aacc |= (w ^ d) & below; /* word bytes that are no digit */
        i += k;
        if (!((m->more >> (sh + k)) & 1))
            break; /* most words: an ASCII byte or the text's end */
        if (i >= m->n)
            break;
        if (m->s[i] < 0x80) { /* the window's last byte: look again from i */
            tokmap_load(m, i);
            continue;
        }
        size_t l;
        unsigned c = cls_at(sc, i, &l);
        if (!(c & RF_WORD))
            break;
        *flags |= ((c & RF_DIGIT) ? TF_DIGIT : 0) | ((c & RF_ALPHA) ? TF_ALPHA : 0);
        i += l;
        if (i >= m->n)
            break;
        tokmap_at(m, i);
    }
    _Static_assert(TF_DIGIT == 1 && TF_ALPHA == 2, "flags from two comparisons");
    *flags |= (unsigned)(dacc != 0) | (unsigned)(aacc != 0) << 1;
    return i;
}

/* The next token at or after i (i at or past covered): returns where it
 * starts, n if there is none. At a word, *t is that word (kinds 0); at an
 * '@' t->end is set to that start; with no token, n. Multi-byte characters
 * that are no word character are skipped here. */
static inline size_t tokmap_next(tokmap *m, const scan *sc, size_t i, tok *t)
{
    for (;;) {
        i = tokmap_gap_end(m, i);
        if (i >= m->n) {
            t->end = m->n;
            return m->n;
        }
        unsigned char c = m->s[i];
        size_t l = 1;
        if (c == '@') {
            t->end = i;
            return i;
        }
        unsigned cls = c < 0x80 ? ascii_cls[c] : cls_at(sc, i, &l);
        if (!(cls & RF_WORD)) {
            i += l;
            continue;
        }
        unsigned flags = (cls & RF_UPPER) ? TF_CAP : 0;
        t->start = i;
        t->cls = cls;
        t->kinds = 0;
        /* The classes of the word's characters are or-ed and turned into
         * flags: no character is both RF_DIGIT and RF_ALPHA (only ASCII
         * digits are digits), so this equals setting TF_DIGIT or TF_ALPHA
         * per character. */
        t->end = tokmap_word(m, sc, i, &flags);
        t->flags = flags;
        return i;
    }
}

/* End of the word starting at i. */
static size_t word_end(const scan *sc, size_t i)
{
    size_t l;
    while (i < sc->n && (cls_at(sc, i, &l) & RF_WORD))
        i += l;
    return i;
}

/* kind is one of CTX_KINDS: redact_scan sets no other slot. */
static int ctx_recent(const scan *sc, int kind, size_t pos, size_t window)
{
    size_t e = sc->ctx[kind];
    return e != NO_CTX && e <= pos && pos - e <= window;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* ----------------------------------------------------------- findings */

/* Adds a finding, merging it with earlier ones it overlaps. Findings arrive
 * almost in order; a look-back (e-mail local part, Hungarian family name) may
 * start before an earlier finding, which is then absorbed. Merging keeps the
 * higher-priority category (lower enum value). */
static void emit(scan *sc, size_t start, size_t end, redact_category cat, uint16_t rule)
{
    if (end > sc->n)
        end = sc->n;
    if (end <= start || sc->full)
        return;
    while (sc->cnt > 0 && start < sc->out[sc->cnt - 1].end) {
        redact_finding *l = &sc->out[sc->cnt - 1];
        if (l->start < start)
            start = l->start;
        if (l->end > end)
            end = l->end;
        if (l->cat < cat) {
            cat = l->cat;
            rule = l->rule_id;
        }
        sc->cnt--;
    }
    if (sc->cnt == sc->max) {
        /* Fail closed: widen the last finding over the rest of the text. */
        if (sc->cnt > 0)
            sc->out[sc->cnt - 1].end = sc->n;
        sc->full = 1;
        sc->covered = sc->n;
        return;
    }
    sc->out[sc->cnt].start = start;
    sc->out[sc->cnt].end = end;
    sc->out[sc->cnt].cat = cat;
    sc->out[sc->cnt].rule_id = rule;
    sc->cnt++;
    if (end > sc->covered)
        sc->covered = end;
}

/* A person finding; its end is remembered so that a date right after a name
 * ("Max Müller, 03.04.2015") can be read as that person's birth date. */
static void emit_person(scan *sc, size_t start, size_t end, uint16_t rule)
{
    emit(sc, start, end, REDACT_PERSON, rule);
    sc->person_end = end;
}

/* --------------------------------------------------------- dictionary */

/* One transition; 0 means no edge (redact__tr in redact_tables.h): the
 * slot at the state's base plus the byte's class, if its label is c. */
static inline uint32_t step(const redact__tables *t, uint32_t node, uint8_t c)
{
    uint32_t x = t->tr[node].base + t->cls[c];
    return (t->tr[x].label & RT_LABEL) == (RT_TAG | c) ? x : 0;
}

/* The kinds that make a finding of a listed word (on_word_rules); the tail
 * filter below is built for them. */
#define HEALTH_KINDS (RK_BIT(RK_CONDITION) | RK_BIT(RK_MEDICATION) | RK_BIT(RK_TREATMENT))

/* Whether a term with a health kind (in any language slot) ends at tail
 * state node. */
static int tail_health_at(const redact__tables *t, uint32_t node)
{
    const redact__term *tm = &t->terms[t->tr[node].term];
    for (int sl = 0; sl < RL_SLOTS; sl++)
        if (tm->exact[sl] & HEALTH_KINDS)
            return 1;
    return 0;
}

/* Whether such a term ends at tail state node or below it. memo[node]: 0
 * not known yet, 1 no, 2 yes. labels: the nl bytes some edge carries. */
static int tail_health_below(const redact__tables *t, uint32_t node, uint8_t *memo,
                             const uint8_t *labels, size_t nl)
{
    if (memo[node])
        return memo[node] == 2;
    int yes = tail_health_at(t, node);
    for (size_t k = 0; k < nl && !yes; k++) {
        uint32_t x = step(t, node, labels[k]);
        if (x && tail_health_below(t, x, memo, labels, nl))
            yes = 1;
    }
    memo[node] = yes ? 2 : 1;
    return yes;
}

/* Fills e->tail_filt (see TAIL_FILT_BITS) from the tail table and
 * tail_pair, which must be filled. Returns 0 when out of memory. */
static int tail_filt_init(redact_engine *e)
{
    const redact__tables *t = e->tail;
    uint8_t *memo = calloc(t->n_tr, 1);
    if (!memo)
        return 0;
    uint8_t labels[256]; /* the bytes some edge carries */
    size_t nl = 0;
    for (unsigned c = 1; c < 256; c++)
        if (t->cls[c])
            labels[nl++] = (uint8_t)c;
    const uint32_t *tail_pair = TAIL_PAIR(e->pair, e->pair_nc);
    size_t nc = e->pair_nc;
    for (const char *pa = REDACT__ALNUM; *pa; pa++)
        for (const char *pb = REDACT__ALNUM; *pb; pb++) {
            uint32_t x = tail_pair[e->t->cls[(uint8_t)*pa] * nc + e->t->cls[(uint8_t)*pb]];
            if (!x || x == PAIR_SLOW)
                continue;
            for (const char *pc = REDACT__ALNUM; *pc; pc++) {
                uint32_t s3 = step(t, x, (uint8_t)*pc);
                if (!s3)
                    continue;
                int h3 = tail_health_at(t, s3);
                for (const char *pd = REDACT__ALNUM; *pd; pd++) {
                    uint32_t s4 = h3 ? 0 : step(t, s3, (uint8_t)*pd);
                    if (h3 || (s4 && tail_health_below(t, s4, memo, labels, nl))) {
                        uint32_t b = tail_filt_bit(x, (uint8_t)*pc, (uint8_t)*pd);
                        e->tail_filt[b / 64] |= UINT64_C(1) << (b % 64);
                    }
                }
            }
        }
    free(memo);
    return 1;
}

/* step() on a carried record: cur becomes the record of the child by c and
 * 1 is returned, or cur stays and 0 is returned when there is none. The
 * child's slot is read as row cls[c] of the table shifted by cur->base:
 * tr + cls[c] does not wait for anything the walk loads, so the load's
 * address is one addressing mode on the loaded base, and the chain from one
 * step's load to the next is that load alone instead of an add and a scaled
 * add after it. The empty asm hides row from gcc, which otherwise adds
 * cls[c] to the base first. The record is read as one 64-bit word (one load
 * whose base field feeds the next address directly). */
static inline int step_cur(const redact__tr *tr, const uint8_t *cls, redact__tr *cur, uint8_t c)
{
    _Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "step_cur reads a record as one word");
    _Static_assert(sizeof(redact__tr) == 8 && offsetof(redact__tr, base) == 0 &&
                       offsetof(redact__tr, term) == 4 && offsetof(redact__tr, label) == 6,
                   "step_cur reads a record as one little-endian word");
    const redact__tr *row = tr + cls[c];
    __asm__("" : "+r"(row));
    uint64_t w;
    memcpy(&w, &row[cur->base], sizeof w);
    if ((unsigned)(w >> 48 & RT_LABEL) != (RT_TAG | c))
        return 0;
    cur->base = (uint32_t)w;
    cur->term = (uint16_t)(w >> 32);
    cur->label = (uint16_t)(w >> 48);
    return 1;
}

/* ------------------------------------------------------------- engine */

/* Language slots (RL_*) each redact_lang selects. */
static const unsigned lang_slots[] = {RL_ALL | RL_DE | RL_EN | RL_PL | RL_HU, RL_ALL | RL_DE,
                                      RL_ALL | RL_EN, RL_ALL | RL_PL, RL_ALL | RL_HU};
#define N_LANGS (sizeof lang_slots / sizeof lang_slots[0])

static void infl_init(redact_engine *e);

redact_engine *redact_engine_new(void)
{
    redact_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->t = &redact__dict;
    e->tail = &redact__tail;
    e->dict_terms = malloc(N_LANGS * e->t->n_terms * sizeof *e->dict_terms);
    e->tail_terms = malloc(N_LANGS * e->tail->n_terms * sizeof *e->tail_terms);
    size_t nc = 0;
    for (unsigned c = 0; c < 256; c++)
        if (e->t->cls[c] >= nc)
            nc = e->t->cls[c] + 1u;
    e->pair_nc = nc;
    e->pair = calloc(2 * nc * nc, sizeof *e->pair); /* pair, then tail_pair */
    e->pair_rec = calloc(nc * nc, sizeof *e->pair_rec);
    e->tail_filt = calloc(TAIL_FILT_BITS / 64, sizeof *e->tail_filt);
    if (!e->dict_terms || !e->tail_terms || !e->pair || !e->pair_rec || !e->tail_filt) {
        redact_engine_free(e);
        return NULL;
    }
    infl_init(e);
    e->tok_wide = tok_wide_usable();
    /* Every ASCII letter or digit has a class (0 only when no edge carries
     * it, and then both steps fail and the entry stays 0). */
    for (const char *pa = REDACT__ALNUM; *pa; pa++) {
        uint8_t a = (uint8_t)*pa;
        uint32_t s1 = step(e->t, 0, a);
        for (const char *pb = REDACT__ALNUM; *pb; pb++) {
            uint8_t b = (uint8_t)*pb;
            size_t k = e->t->cls[a] * nc + e->t->cls[b];
            uint32_t x = 0;
            if (s1)
                x = (e->t->tr[s1].label & RT_MID) ? PAIR_SLOW : step(e->t, s1, b);
            e->pair[k] = x;
            if (x && x != PAIR_SLOW)
                e->pair_rec[k] = e->t->tr[x];
        }
    }
    uint32_t *tail_pair = TAIL_PAIR(e->pair, nc);
    const redact__tr *ttr = e->tail->tr;
    for (const char *pa = REDACT__ALNUM; *pa; pa++) {
        uint8_t a = (uint8_t)*pa;
        uint32_t s1 = step(e->tail, 0, a);
        for (const char *pb = REDACT__ALNUM; *pb; pb++) {
            uint8_t b = (uint8_t)*pb;
            uint32_t *x = &tail_pair[e->t->cls[a] * nc + e->t->cls[b]];
            uint32_t s2 = s1 && !ttr[s1].term ? step(e->tail, s1, b) : 0;
            if (!e->t->cls[a] || !e->t->cls[b] || (s1 && ttr[s1].term) || (s2 && ttr[s2].term))
                *x = PAIR_SLOW;
            else
                *x = s2; /* 0 when either step fails */
        }
    }
    if (!tail_filt_init(e)) {
        redact_engine_free(e);
        return NULL;
    }
    for (size_t l = 0; l < N_LANGS; l++) {
        for (size_t k = 0; k < e->t->n_terms; k++) {
            const redact__term *tm = &e->t->terms[k];
            lang_term *lt = &e->dict_terms[l * e->t->n_terms + k];
            lt->exact = lt->stem = 0;
            for (int sl = 0; sl < RL_SLOTS; sl++)
                if (lang_slots[l] & (1u << sl)) {
                    lt->exact |= tm->exact[sl];
                    lt->stem |= tm->stem[sl];
                }
        }
        for (size_t k = 0; k < e->tail->n_terms; k++) {
            uint64_t x = 0;
            for (int sl = 0; sl < RL_SLOTS; sl++)
                if (lang_slots[l] & (1u << sl))
                    x |= e->tail->terms[k].exact[sl];
            e->tail_terms[l * e->tail->n_terms + k] = x;
        }
    }
    return e;
}

void redact_engine_free(redact_engine *eng)
{
    if (!eng)
        return;
    free(eng->dict_terms);
    free(eng->tail_terms);
    free(eng->pair);
    free(eng->pair_rec);
    free(eng->tail_filt);
    free(eng);
}

/* Longest dictionary match starting at word start p. Spaces, hyphens and
 * line breaks between words match one ' ' in a term; '.' matches itself;
 * apostrophes are skipped. A stem term that ends inside a word extends the
 * match to the word end. The walk ends after at most max_depth folded bytes. */
static int dict_walk(const scan *sc, size_t p, dmatch *m, dstop *stop)
{
    const redact__tables *t = sc->t;
    int root = 1; /* at the root: cur is tr[0] */
    size_t i = p, depth = 0;
    int found = 0;
    /* Stems passed in the current word: they match up to its end too, so a
     * longer term ending there ("bedagadt" as a pain word) keeps their kinds
     * ("bedagad*" as a condition) instead of hiding them. */
    uint64_t path_stems = 0;
    /* The labels of the states stepped after the first two bytes, or-ed:
     * their RT_INFL bit is dstop.infl. One OR a step; past the first word
     * (a phrase) it only lets more words through to the inflection step. */
    unsigned infl = 0;
    /* Locals: the stores through m could alias sc->n and the tables, which
     * the compiler would otherwise reload at every step. */
    const unsigned char *s = sc->s;
    const redact__tr *tr = t->tr;
    const uint8_t *cls8 = t->cls;
    const size_t n = sc->n;
    redact__tr cur = tr[0]; /* the record of the state reached, carried: one load a step */
    /* No depth check: depth is the depth of the state reached, and a state
     * at max_depth (the longest term) has no child, so the walk ends there
     * by itself after at most max_depth folded bytes. */
    while (i < n) {
        unsigned char c0 = s[i];
        uint8_t a = ascii_fold[c0];
        if (a) {
            /* ASCII letter or digit, most of the text: one step. */
            if (root) {
                /* The first step: two bytes at once when both are ASCII
                 * letters or digits (the second byte puts the state after
                 * the first inside a word, where only an RT_MID term
                 * matters, and such states give PAIR_SLOW). */
                uint8_t b = i + 1 < n ? ascii_fold[s[i + 1]] : 0;
                size_t pk = cls8[a] * sc->pair_nc + cls8[b];
                uint32_t x = b ? sc->pair[pk] : PAIR_SLOW;
                if (x == PAIR_SLOW) {
                    if (!step_cur(tr, cls8, &cur, a))
                        goto done;
                } else {
                    i++;
                    depth++;
                    if (!x)
                        goto done;
                    cur = sc->pair_rec[pk]; /* tr[x], without waiting for x */
                }
                root = 0;
            } else {
                /* A run of in-word steps in a loop of its own, leaving
                 * only at a word end or an RT_MID state for the term check
                 * below: each byte is loaded and folded once (one step's
                 * look-ahead is the next step's byte), and the loop has
                 * none of the outer loop's tests for the first step and
                 * for non-ASCII bytes. Paired runs: about +2 %. */
                for (;;) {
                    if (!step_cur(tr, cls8, &cur, a))
                        goto done;
                    infl |= cur.label;
                    i++;
                    depth++;
                    a = i < n ? ascii_fold[s[i]] : 0;
                    if (!a || (cur.label & RT_MID))
                        break;
                }
                goto term;
            }
            i++;
            depth++;
        } else {
            uint32_t cp;
            char f[2];
            unsigned cls;
            size_t l, k;
            if (c0 < 0x80) {
                cp = c0;
                l = 1;
                k = 0;
                cls = 0;
            } else {
                l = redact__utf8(s, i, n, &cp);
                k = redact__fold(cp, f, &cls);
            }
            if (cls & RF_WORD) {
                for (size_t j = 0; j < k; j++) {
                    if (!step_cur(tr, cls8, &cur, (uint8_t)f[j]))
                        goto done;
                    root = 0;
                    infl |= cur.label;
                }
                i += l;
                depth += k;
                if (k == 0)
                    continue;
            } else if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '-' ||
                       cp == '/') {
                if (root)
                    goto done;
                /* The ' ' step and the phrase filter (redact_tables.h) next
                 * to its record, decided together: most states have no ' '
                 * child, and most continuations die within the next word's
                 * first two bytes, which the filter tells without stepping
                 * into the next word's part of the table. Two branches that
                 * each went either way cost a mispredict each; one costs
                 * one. The filter slot is read whether or not the ' '
                 * record is there (its bits then mean nothing and are
                 * masked): it is the block's base, the line the ' ' record
                 * is on. Only ASCII letters and digits are filtered;
                 * anything else steps as before. Where the walk stops past
                 * its first word does not matter (infl_reachable reads it
                 * only up to the word's end; an RT_INFL state past it only
                 * lets the word through). */
                uint32_t sx = cur.base + cls8[' '];
                redact__tr sv = tr[sx];
                size_t j = i + 1, lim = i + 8 < n ? i + 8 : n;
                while (j < lim && (is_space(s[j]) || s[j] == '-' || s[j] == '/'))
                    j++;
                uint8_t a1 = j < n ? ascii_fold[s[j]] : 0;
                uint8_t a2 = j + 1 < n ? ascii_fold[s[j + 1]] : 0;
                uint64_t spc = redact__spc_filter(tr[cur.base]);
                unsigned live = (sv.label & RT_LABEL) == (RT_TAG | ' ');
                unsigned pass = (a1 == 0) | (unsigned)(spc >> redact__spc_bit(a1, a2) & 1);
                if (!(live & pass))
                    goto done;
                cur = sv;
                i = j;
                depth++;
                path_stems = 0;
                continue;
            } else if (cp == '.' && !root) {
                if (!step_cur(tr, cls8, &cur, '.'))
                    goto done;
                i += 1;
                depth++;
                path_stems = 0;
            } else if ((cp == '\'' || cp == 0x2019) && !root) {
                i += l;
                continue;
            } else {
                goto done;
            }
        }
        a = i < n ? ascii_fold[s[i]] : 0; /* the next byte, folded */
    term:;
        /* Inside a word (an ASCII letter or digit next), only a stem or a
         * medication name can match (RT_MID): a term state is met at about
         * every sixth step, and most are whole words that end elsewhere. */
        unsigned want = a ? (cur.label & RT_MID) : cur.term;
        if (want) {
            /* The slots already combined for the message's language. */
            const lang_term *tm = &sc->lterms[cur.term];
            uint64_t exact = tm->exact, stem = tm->stem;
            if ((exact | stem) && !is_word_at(sc, i)) {
                m->end = i;
                m->kinds = exact | stem | path_stems;
                found = 1;
            } else if ((exact & RK_BIT(RK_MEDICATION)) && depth >= 5 &&
                       (sc->langbits & (RL_PL | RL_HU)) && word_end(sc, i) - i <= 3) {
                /* Polish and Hungarian decline brand names too ("Lasixom",
                 * "Alantanu", "Furadantint"): a drug name of five letters or
                 * more takes a case ending of up to three letters. */
                m->end = word_end(sc, i);
                m->kinds = exact | stem | path_stems;
                found = 1;
            } else if (stem) {
                m->end = word_end(sc, i);
                m->kinds = stem | path_stems;
                found = 1;
            }
            path_stems |= stem;
        }
    }
done:
    stop->at = i;
    stop->infl = infl & RT_INFL;
    return found;
}

/* The scan's memo entry for a walk from p, walked now if it is not there:
 * the same start in the same text gives the same match, so a repeated walk
 * is a lookup. The entry stays valid until the next walk from a start with
 * the same low bits. dict_walk writes its results into the entry itself, and
 * readers take them field by field, with no struct copy between: a walk's
 * results are read a few instructions after it stored them, and a local
 * dmatch copied into the entry was compiled to one 16-byte load over the
 * walk's two 8-byte stores, which the store buffer cannot forward. That load
 * waited for both stores to reach the cache, after every walk that matched
 * (about 3 % of the scan's time). */
static const dict_memo *dict_memo_walk(const scan *sc, size_t p)
{
    dict_memo *e = &sc->memo[p & (DICT_MEMO - 1)];
    if (e->p != p || e->n != sc->n) {
        e->found = dict_walk(sc, p, &e->m, &e->stop);
        e->p = p;
        e->n = sc->n;
    }
    return e;
}

/* dict_walk through the scan's memo (dict_memo_walk). m is left untouched
 * when nothing matches, as dict_walk does; stop (when not NULL) gets where
 * the walk stopped. */
static int dict_match_stop(const scan *sc, size_t p, dmatch *m, dstop *stop)
{
    const dict_memo *e = dict_memo_walk(sc, p);
    if (e->found) {
        m->end = e->m.end;
        m->kinds = e->m.kinds;
    }
    if (stop) {
        stop->at = e->stop.at;
        stop->infl = e->stop.infl;
    }
    return e->found;
}

static inline int dict_match(const scan *sc, size_t p, dmatch *m)
{
    return dict_match_stop(sc, p, m, NULL);
}

/* Kinds of exactly the word [p, e) (0 when the word is not a whole term). */
static uint64_t word_kinds(const scan *sc, size_t p, size_t e)
{
    dmatch m;
    if (dict_match(sc, p, &m) && (m.end == e || (m.end == e + 1 && sc->s[e] == '.')))
        return m.kinds; /* "Dr." is the word "Dr" plus its dot */
    return 0;
}

/* The separators next_word may skip, as a set of ASCII bytes: bit c of
 * lo (c < 64) or of hi (c - 64). The call sites write them as a string
 * literal in SEPS, which the compiler folds into two constants there (a
 * loop of known count over a literal), so the skip loop tests a byte with a
 * shift instead of a loop over the string (that cost about a mispredict per
 * call). Bytes from 0x80 are never separators. */
typedef struct {
    uint64_t lo, hi;
} sepset;

static inline sepset sep_set(const char *seps, size_t n)
{
    sepset m = {0, 0};
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)seps[k];
        if (c < 64)
            m.lo |= UINT64_C(1) << c;
        else if (c < 128)
            m.hi |= UINT64_C(1) << (c - 64);
    }
    return m;
}
#define SEPS(lit) sep_set("" lit, sizeof(lit) - 1)

static inline int in_sepset(sepset m, unsigned char c)
{
    return (int)(((c < 64 ? m.lo : c < 128 ? m.hi : 0) >> (c & 63)) & 1);
}

/* Next word token at or after i, skipping at most `skip` bytes that are all
 * in `seps`. Returns 0 if none. */
static int next_word(const scan *sc, size_t i, size_t skip, sepset seps, tok *out)
{
    const unsigned char *s = sc->s;
    const size_t n = sc->n;
    if (i >= n)
        return 0;
    size_t lim = skip < n - i ? i + skip : n;
    while (i < lim && in_sepset(seps, s[i]))
        i++;
    if (i >= n)
        return 0;
    size_t l;
    unsigned cls = cls_at(sc, i, &l);
    if (!(cls & RF_WORD))
        return 0;
    out->start = i;
    out->cls = cls;
    out->flags = (cls & RF_UPPER) ? TF_CAP : 0;
    /* Classes or-ed, flags set once, as in redact_scan's tokenizer. One
     * difference kept: here a word character that is neither digit nor letter
     * (a combining mark) counts as TF_ALPHA. */
    size_t j = i;
    unsigned acc = 0;
    while (j < n) {
        unsigned c = ascii_cls[s[j]];
#if defined(TOK_SSE2)
        /* A run of ASCII letters and digits up to 16 bytes at a time while
         * 16 bytes lie inside the text: its end by ctz, not by a loop whose
         * exit no predictor learns (words are about 6 bytes). */
        if ((c & RF_WORD) && n - j >= 16) {
            unsigned dm, am;
            (void)tok_masks(s + j, &dm, &am);
            unsigned k = (unsigned)__builtin_ctz(~(dm | am)); /* bit 16 is always set */
            unsigned below = (1u << k) - 1;
            acc |= ((dm & below) ? RF_DIGIT : 0u) | ((am & below) ? RF_ALPHA : 0u);
            j += k;
            continue;
        }
#endif
        if (c & RF_WORD) { /* most bytes: no cls_at bookkeeping */
            acc |= c;
            j++;
            continue;
        }
        if (!(c & A_MB))
            break;
        c = cls_at(sc, j, &l);
        if (!(c & RF_WORD))
            break;
        acc |= (c & RF_DIGIT) ? RF_DIGIT : RF_ALPHA;
        j += l;
    }
    out->flags |= ((acc & RF_DIGIT) ? TF_DIGIT : 0) | ((acc & RF_ALPHA) ? TF_ALPHA : 0);
    out->end = j;
    out->kinds = 0;
    return 1;
}

/* Where next_word's word starts (NO_CTX when it returns 0), without
 * reading the word: for the rules that only walk the dictionary from there
 * (mod_end, body_after), the run to its end and its flags cost about 40
 * instructions a call. test_redact_tok checks it against next_word. */
static inline size_t next_word_start(const scan *sc, size_t i, size_t skip, sepset seps)
{
    const unsigned char *s = sc->s;
    const size_t n = sc->n;
    if (i >= n)
        return NO_CTX;
    size_t lim = skip < n - i ? i + skip : n;
    while (i < lim && in_sepset(seps, s[i]))
        i++;
    if (i >= n || !(cls_at(sc, i, NULL) & RF_WORD))
        return NO_CTX;
    return i;
}

/* ------------------------------------------------------------- persons */

#define NAME_KINDS_OK (RK_BIT(RK_FIRSTNAME) | RK_BIT(RK_CITY) | RK_BIT(RK_MODPOST))

/* A name word: letters only, capitalised, not a dictionary word other than a
 * first name, a city, or a complement (so "Hallo Praxis" or "Frau Doktor" are not names,
 * but the eponyms "Wilson", "Paget", "Pfeiffer" after a disease word still are surnames). any_case
 * marks the first word after a trigger; a following word (any_case 0) may
 * also be a price or room word, since those are surnames too ("Daniel Price",
 * "Anna Zimmer"). */
static int name_word(const scan *sc, tok *w, int any_case)
{
    /* a family name with an apostrophe after one capital: "O'Neill",
     * "D'Souza", "O’Brien" (the tokens split at the apostrophe) */
    if (w->end - w->start == 1 && is_upper_ascii(sc->s[w->start])) {
        size_t a = w->end, al = 0;
        if (a < sc->n && sc->s[a] == '\'')
            al = 1;
        else if (a + 2 < sc->n && sc->s[a] == 0xe2 && sc->s[a + 1] == 0x80 && sc->s[a + 2] == 0x99)
            al = 3;
        if (al && a + al + 1 < sc->n && is_upper_ascii(sc->s[a + al]) &&
            !is_upper_ascii(sc->s[a + al + 1])) {
            w->end = word_end(sc, a + al);
            w->kinds = 0;
            return 1;
        }
    }
    if ((w->flags & TF_DIGIT) || !(w->flags & TF_ALPHA) || w->end - w->start < 2)
        return 0; /* "I", initials */
    w->kinds = word_kinds(sc, w->start, w->end);
    if (w->kinds & ~(NAME_KINDS_OK | (any_case ? 0 : RK_BIT(RK_CTX_NEG))))
        return 0;
    if (!(w->flags & TF_CAP) && !(any_case && (w->kinds & RK_BIT(RK_FIRSTNAME))))
        return 0;
    return 1;
}

static int street_compound(const scan *sc, const tok *t, size_t *after);
static size_t house_number(const scan *sc, size_t i);
/* A name followed by a street word is a street named after a person
 * ("Karl-Marx-Allee 5", "Kossuth Lajos utca 12."): emit the address instead. */
static size_t street_after_name(scan *sc, size_t start, size_t end)
{
    if (end >= sc->n || (sc->s[end] != ' ' && sc->s[end] != '-'))
        return 0;
    tok w;
    if (!next_word(sc, end + 1, 0, SEPS(""), &w) || (w.flags & TF_DIGIT))
        return 0;
    size_t after = 0;
    dmatch m;
    if (dict_match(sc, w.start, &m) && (m.kinds & RK_BIT(RK_STREET_POST)))
        after = m.end;
    else if (!(w.flags & TF_CAP) || !street_compound(sc, &w, &after))
        return 0;
    size_t hn = house_number(sc, after);
    if (!hn)
        return 0;
    emit(sc, start, hn, REDACT_ADDRESS, R_ADDR_STREET);
    sc->street_end = hn;
    return hn;
}

/* Person after a trigger ending at pos: up to three name words joined by a
 * single space or hyphen. seps says what may stand between trigger and name. */
static size_t person_after(scan *sc, size_t pos, sepset seps, int skip_titles, int need_first,
                           uint16_t rule)
{
    tok w;
    size_t at = pos;
    for (int t = 0; t < 3; t++) {
        if (!next_word(sc, at, 4, seps, &w))
            return pos;
        if (!skip_titles)
            break;
        dmatch m;
        if (dict_match(sc, w.start, &m) && (m.kinds & RK_BIT(RK_TITLE)) && m.end > w.start) {
            at = m.end;
            continue;
        }
        break;
    }
    size_t start = w.start;
    tok sur;
    /* an initial before the surname: "Gruß M. Dittrich", "Dr. J. Okafor";
     * without its dot only a letter that is no one-letter word of our
     * languages ("account name J Kowalczyk-Reid", not "I", "A", "W", "Z") */
    size_t ia = w.end - w.start != 1 ? 0
                : w.end + 2 < sc->n && sc->s[w.end] == '.' && sc->s[w.end + 1] == ' ' ? w.end + 2
                : w.end + 1 < sc->n && sc->s[w.end] == ' ' && !strchr("AEIOUWZ", sc->s[w.start])
                    ? w.end + 1
                    : 0;
    if (ia && (w.flags & TF_CAP) && is_upper_ascii(sc->s[w.start]) &&
        next_word(sc, ia, 0, SEPS(""), &sur) && (sur.flags & TF_CAP) && name_word(sc, &sur, 0))
        w = sur;
    else if (!name_word(sc, &w, 1) ||
             (w.end + 1 < sc->n && sc->s[w.end] == '-' && sc->s[w.end + 1] >= 'a' &&
              sc->s[w.end + 1] <= 'z'))
        return pos; /* "Apósom Parkinson-kóros": an eponym in a compound, not a name */
    else
        start = w.start;
    if (need_first && !(w.kinds & RK_BIT(RK_FIRSTNAME)) && !(w.flags & TF_CAP))
        return pos;
    size_t end = w.end;
    for (int k = 0; k < 2; k++) {
        tok v;
        if (end >= sc->n || (sc->s[end] != ' ' && sc->s[end] != '-'))
            break;
        if (!next_word(sc, end + 1, 0, SEPS(""), &v) || !name_word(sc, &v, 0))
            break;
        end = v.end;
    }
    size_t st = street_after_name(sc, start, end);
    if (st)
        return st;
    emit_person(sc, start, end, rule);
    return end;
}

static const tok *prev_tok(const scan *sc, size_t back)
{
    if (back >= sc->nprev || back >= 4)
        return NULL;
    return &sc->prev[(sc->nprev - 1 - back) & 3];
}

static int prev_is_name_word(const scan *sc, const tok *p, size_t next_start)
{
    if (!p || !(p->flags & TF_CAP) || (p->flags & TF_DIGIT) || p->kinds)
        return 0;
    if (p->start < sc->covered || p->end + 1 != next_start || sc->s[p->end] != ' ')
        return 0;
    return 1;
}

/* ------------------------------------------------------------- numbers */

typedef struct {
    char c[MAX_RUN];     /* compacted characters (digits, upper-case letters) */
    size_t end[MAX_RUN]; /* text offset after each character */
    char sep[MAX_RUN];   /* separator before each character, 0 if none */
    size_t n;
    size_t start;
} run;

/* Collects digits from p across single separators (space, - / . and
 * brackets) into r. Stops at anything else, at a double separator, or when
 * a separator is not followed by a digit. */
static void collect_digits(const scan *sc, size_t p, run *r)
{
    r->n = 0;
    r->start = p;
    size_t i = p;
    char sep = 0;
    while (i < sc->n && r->n < MAX_RUN) {
        unsigned char c = sc->s[i];
        if (c >= '0' && c <= '9') {
            r->c[r->n] = (char)c;
            r->sep[r->n] = sep;
            r->end[r->n] = i + 1;
            r->n++;
            sep = 0;
            i++;
            continue;
        }
        /* one separator, or ") " / " (" pairs as in "(030) 123" */
        size_t j = i;
        char s1 = 0;
        int k = 0;
        while (j < sc->n && k < 2 &&
               (sc->s[j] == ' ' || sc->s[j] == '-' || sc->s[j] == '/' || sc->s[j] == '.' ||
                sc->s[j] == '(' || sc->s[j] == ')')) {
            if (!s1 || sc->s[j] != ' ')
                s1 = (char)sc->s[j];
            j++;
            k++;
        }
        if (k == 2 && sc->s[i] == ' ' && (sc->s[i + 1] == '/' || sc->s[i + 1] == '-') &&
            j < sc->n && sc->s[j] == ' ') {
            j++; /* "0761 / 12 34 56", "0170 - 1234567" */
            k = 3;
        }
        if (k == 0 || j >= sc->n || sc->s[j] < '0' || sc->s[j] > '9')
            break;
        if (k == 2 && !(sc->s[i] == ')' || sc->s[i + 1] == '('))
            break;
        if (k == 3)
            s1 = (char)sc->s[i + 1];
        sep = s1;
        i = j;
    }
}

/* Value of at most four digits (callers check group lengths first). */
static int num(const char *c, size_t n)
{
    int v = 0;
    if (n > 4)
        n = 4;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (c[i] - '0');
    return v;
}

/* Group lengths of a run (digits between separators). */
static size_t groups(const run *r, size_t *g, size_t maxg)
{
    size_t ng = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (i == 0 || r->sep[i]) {
            if (ng == maxg)
                return maxg + 1;
            g[ng++] = 0;
        }
        g[ng - 1]++;
    }
    return ng;
}

static int valid_dm(int d, int m)
{
    return d >= 1 && d <= 31 && m >= 1 && m <= 12;
}

static int is_digit(unsigned char c);

/* Is pos at most `window` bytes after mark, with only separators between?
 * "Jonas (14.09.2016)", "Max Müller, 03.04.2015", "Córka: 12.06.2011". */
static int just_after(const scan *sc, size_t mark, size_t pos, size_t window)
{
    if (mark == NO_CTX || mark > pos || pos - mark > window)
        return 0;
    for (size_t i = mark; i < pos; i++)
        if (sc->s[i] != ' ' && sc->s[i] != ',' && sc->s[i] != ':' && sc->s[i] != '(' &&
            sc->s[i] != '-')
            return 0;
    return 1;
}

/* A bare year alone in brackets right after a person's name or a kinship word is how
 * people give someone's age in a chat: "Iris Pemberton (1934)", "A lányom (2018)",
 * "our son Ethan (2011)". The caller checks that it is a plausible birth year. */
static int bracketed_year_of_person(const scan *sc, size_t p, size_t rend)
{
    if (p == 0 || sc->s[p - 1] != '(' || rend >= sc->n || sc->s[rend] != ')')
        return 0;
    return just_after(sc, sc->kin_end, p, 4) || just_after(sc, sc->person_end, p, 4);
}

/* A birth word right after a date or year, with an optional Hungarian case
 * suffix between: "1958-ban született", "1947 geboren", "1975. március 3-án
 * születtem". */
static int birth_after(const scan *sc, size_t e)
{
    size_t i = e;
    if (i + 1 < sc->n && sc->s[i] == '-') {
        size_t j = word_end(sc, i + 1);
        if (j == i + 1 || j - i > 8)
            return 0;
        i = j;
    }
    tok w;
    if (!next_word(sc, i, 2, SEPS(" ,"), &w) || (w.flags & TF_DIGIT))
        return 0;
    dmatch m;
    return dict_match(sc, w.start, &m) && (m.kinds & RK_BIT(RK_CTX_BIRTH));
}

/* A clock time or a time word right after a date ("03.04.2027 um 10:30",
 * "12/04/2026 at 9:15", "12.12.2026 o 8:30"): an appointment, not a birth. */
static int time_after(const scan *sc, size_t e)
{
    static const char *const words[] = {"um", "at", "o", "godz", "ab", "von", "from", "od"};
    size_t i = e, k = 0;
    while (i < sc->n && (sc->s[i] == ' ' || sc->s[i] == ',') && k < 3) {
        i++;
        k++;
    }
    if (i < sc->n && is_digit(sc->s[i])) {
        size_t j = i;
        while (j < sc->n && is_digit(sc->s[j]) && j - i < 3)
            j++;
        return j < sc->n && (sc->s[j] == ':' || sc->s[j] == 'h');
    }
    size_t we = word_end(sc, i);
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        size_t l = strlen(words[w]);
        size_t c = 0;
        while (c < l && we - i == l && (sc->s[i + c] | 0x20) == (unsigned char)words[w][c])
            c++;
        if (we - i == l && c == l)
            return 1;
    }
    return 0;
}

/* Decides DOB for a date [start, end) with the given 4-digit year (or -1). */
static void date_found(scan *sc, size_t start, size_t end, int year)
{
    uint16_t rule = R_NONE;
    if (ctx_recent(sc, RK_CTX_BIRTH, start, WIN_BIRTH)) {
        rule = R_DOB_CONTEXT;
        /* One birth word, one birth date: "DOB 11/30/1975, appointment on
         * 12/04/2026" must leave the appointment alone. */
        sc->ctx[RK_CTX_BIRTH] = NO_CTX;
    } else if (year >= 1900 && year <= 2008) {
        /* Appointments are in the present or future; a year this old next to a
         * full date in a clinic chat is a birth date far more often than not. */
        rule = R_DOB_YEAR;
    } else if (year >= 1900 && birth_after(sc, end)) {
        rule = R_DOB_CONTEXT;
    } else if (year >= 1900 &&
               (just_after(sc, sc->kin_end, start, 4) || just_after(sc, sc->person_end, start, 4)) &&
               !time_after(sc, end)) {
        /* A full date right after a child's name or a kinship word is how
         * parents write the child's birth date: "Córka (12.06.2011)". */
        rule = R_DOB_CONTEXT;
    }
    if (rule != R_NONE)
        emit(sc, start, end, REDACT_DOB, rule);
}

/* End of an English ordinal suffix at i ("3rd", "21st"), or i if none. */
static size_t ordinal_end(const scan *sc, size_t i)
{
    static const char sfx[] = "stndrdth";
    if (i + 2 > sc->n)
        return i;
    for (size_t k = 0; k < 8; k += 2)
        if ((sc->s[i] | 0x20) == sfx[k] && (sc->s[i + 1] | 0x20) == sfx[k + 1] &&
            !is_word_at(sc, i + 2))
            return i + 2;
    return i;
}

/* Position after a month word starting at or after i (skipping spaces). */
static size_t month_at(const scan *sc, size_t i)
{
    tok w;
    if (!next_word(sc, i, 3, SEPS(" "), &w) || !(w.flags & TF_ALPHA))
        return 0;
    dmatch m;
    if (dict_match(sc, w.start, &m) && (m.kinds & RK_BIT(RK_MONTH)))
        return m.end;
    return 0;
}

/* Number of digits at i (at most 4), 0 if none or more follow. */
static size_t digits_at(const scan *sc, size_t i, int *val)
{
    size_t k = 0;
    *val = 0;
    while (i + k < sc->n && sc->s[i + k] >= '0' && sc->s[i + k] <= '9' && k < 5) {
        *val = *val * 10 + (sc->s[i + k] - '0');
        k++;
    }
    return k > 4 ? 0 : k;
}

/* Dates with a month name: "12. März 1980", "12 marca 1980",
 * "1980. március 12.". Returns the end or 0. */
static size_t date_words(scan *sc, size_t p)
{
    int a, b;
    size_t la = digits_at(sc, p, &a);
    /* Only a day (1 to 31 in one or two digits) or a year (four digits)
     * starts one of these dates (the tests at the end): other numbers ("500
     * mg", phone numbers) need no look at the next word. */
    int day = la <= 2 && a >= 1 && a <= 31;
    if (!day && la != 4)
        return 0;
    size_t i = p + la;
    if (i < sc->n && sc->s[i] == '.')
        i++;
    else if (la <= 2 && (i = ordinal_end(sc, i)) > p + la && i + 4 <= sc->n &&
             memcmp(sc->s + i, " of ", 4) == 0)
        i += 3; /* "3rd of May 1980" */
    size_t me = month_at(sc, i);
    if (!me)
        return 0;
    size_t j = me;
    if (j < sc->n && sc->s[j] == '.') /* an abbreviation: "11 Feb. 1946", "febr. 3." */
        j++;
    while (j < sc->n && (sc->s[j] == ' ' || sc->s[j] == ','))
        j++;
    size_t lb = digits_at(sc, j, &b);
    if (day) {
        if (lb == 4) {
            date_found(sc, p, j + lb, b);
            return j + lb;
        }
        date_found(sc, p, me, -1);
        return me;
    }
    if (la == 4 && lb >= 1 && lb <= 2 && b >= 1 && b <= 31) {
        size_t e = j + lb;
        if (e < sc->n && sc->s[e] == '.')
            e++;
        date_found(sc, p, e, a);
        return e;
    }
    return 0;
}

/* Numeric dates: d.m.y, d/m/y, d-m-y, y-m-d, y.m.d. */
static size_t date_numeric(scan *sc, const run *r, const size_t *g, size_t ng)
{
    if (ng < 3 || r->sep[g[0]] != r->sep[g[0] + g[1]])
        return 0;
    char sp = r->sep[g[0]];
    if (sp != '.' && sp != '/' && sp != '-')
        return 0;
    if (g[0] > 4 || g[1] > 2 || g[2] > 4)
        return 0; /* also keeps num() far from int overflow */
    size_t n3 = g[0] + g[1] + g[2];
    int x = num(r->c, g[0]), y = num(r->c + g[0], g[1]), z = num(r->c + g[0] + g[1], g[2]);
    int year = -1;
    if (g[0] <= 2 && g[1] <= 2 && (g[2] == 4 || g[2] == 2) &&
        (valid_dm(x, y) || (sp == '/' && valid_dm(y, x)))) {
        year = g[2] == 4 ? z : (z >= 30 ? 1900 + z : 2000 + z);
    } else if (g[0] == 4 && g[1] <= 2 && g[2] <= 2 && valid_dm(z, y)) {
        year = x;
    } else {
        return 0;
    }
    size_t end = r->end[n3 - 1];
    if (g[0] == 4 && end < sc->n && sc->s[end] == '.')
        end++; /* Hungarian "1980.03.12." */
    date_found(sc, r->start, end, year);
    return end;
}

/* Tries the check-digit identifiers on digits c[0, n). Returns a rule. */
static uint16_t numeric_id(const scan *sc, const char *c, size_t n, int any, redact_category *cat)
{
    int de = any || sc->lang == REDACT_LANG_DE;
    int en = any || sc->lang == REDACT_LANG_EN;
    int pl = any || sc->lang == REDACT_LANG_PL;
    int hu = any || sc->lang == REDACT_LANG_HU;
    *cat = REDACT_NATIONAL_ID;
    switch (n) {
    case 9:
        if (hu && redact__taj_valid(c, n)) {
            *cat = REDACT_HEALTH_ID;
            return R_TAJ;
        }
        break;
    case 10:
        if (en && redact__nhs_valid(c, n)) {
            *cat = REDACT_HEALTH_ID;
            return R_NHS;
        }
        if (pl && redact__nip_valid(c, n))
            return R_NIP;
        if (hu && redact__hu_tax_valid(c, n))
            return R_HU_TAX;
        if (de && redact__at_svnr_valid(c, n)) {
            *cat = REDACT_HEALTH_ID;
            return R_AT_SVNR;
        }
        break;
    case 11:
        if (pl && redact__pesel_valid(c, n))
            return R_PESEL;
        if (de && redact__steuerid_valid(c, n))
            return R_STEUERID;
        if (hu && redact__hu_personal_valid(c, n))
            return R_HU_PERSONAL;
        break;
    default: break;
    }
    return R_NONE;
}

/* A unit word ("mg", "Tabletten") right after position i? */
static size_t unit_after(const scan *sc, size_t i)
{
    tok w;
    if (!next_word(sc, i, 1, SEPS(" "), &w))
        return 0;
    dmatch m;
    if (dict_match(sc, w.start, &m) && (m.kinds & RK_BIT(RK_UNIT)))
        return m.end;
    return 0;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Phone shapes without a context word. */
static uint16_t phone_shape(const scan *sc, const run *r, const size_t *g, size_t ng, int plus)
{
    size_t nd = r->n;
    if (plus)
        return (nd >= 8 && nd <= 15) ? R_PHONE_INTL : R_NONE;
    if (nd >= 10 && r->c[0] == '0' && r->c[1] == '0')
        return nd <= 17 ? R_PHONE_INTL : R_NONE;
    if (r->c[0] == '0' && nd >= 9 && nd <= 13 && ng <= 4)
        return R_PHONE_NATIONAL; /* trunk prefix: DE, AT, HU (06), UK */
    int any = sc->lang == REDACT_LANG_AUTO;
    if ((any || sc->lang == REDACT_LANG_EN) && nd == 10 && r->c[0] >= '2' && r->c[3] >= '2' &&
        ((ng == 3 && g[0] == 3 && g[1] == 3) || (r->start > 0 && sc->s[r->start - 1] == '(')))
        return R_PHONE_NATIONAL; /* NANP 415-555-0123, (415) 555 0123 */
    if ((any || sc->lang == REDACT_LANG_PL) && nd == 9 && r->c[0] >= '1' &&
        ((ng == 3 && g[0] == 3 && g[1] == 3) || (ng == 4 && g[0] == 2 && g[1] == 3) || ng == 1))
        return R_PHONE_NATIONAL; /* 512 345 678, 22 123 45 67 */
    if ((any || sc->lang == REDACT_LANG_HU) && nd == 9 && ng == 3 && g[0] == 2 &&
        (memcmp(r->c, "20", 2) == 0 || memcmp(r->c, "30", 2) == 0 || memcmp(r->c, "70", 2) == 0))
        return R_PHONE_NATIONAL; /* 30 123 4567 */
    return R_NONE;
}

/* A lower-case word that joins the parts of a place name ("am", "vor der",
 * "upon", "nad")? */
static int place_join(const scan *sc, const tok *w)
{
    static const char *const joins[] = {"am",   "an", "der", "dem",   "vor", "ob", "im",
                                        "in",   "bei", "upon", "on", "under", "nad", "pod"};
    size_t l = w->end - w->start;
    if (w->flags & (TF_CAP | TF_DIGIT))
        return 0;
    for (size_t k = 0; k < sizeof joins / sizeof joins[0]; k++)
        if (strlen(joins[k]) == l && memcmp(sc->s + w->start, joins[k], l) == 0)
            return 1;
    return 0;
}

/* A capitalised word that may be part of a place name: letters only and no
 * dictionary word other than a first name or a city. */
static int place_word(const scan *sc, const tok *w)
{
    return (w->flags & TF_CAP) && !(w->flags & TF_DIGIT) &&
           !(word_kinds(sc, w->start, w->end) & ~NAME_KINDS_OK);
}

/* A Polish regional adjective that ends a town name: "Nowy Dwór Mazowiecki",
 * "Gorzów Wielkopolski", "Dąbrowa Górnicza", "Ruda Śląska". */
static int region_adjective(const scan *sc, const tok *w)
{
    static const char *const ends[] = {"ski", "cki", "dzki", "ska", "cka", "dzka", "skie", "ckie",
                                       "nicza", "niczy"};
    size_t l = w->end - w->start;
    if (l < 6)
        return 0;
    for (size_t k = 0; k < sizeof ends / sizeof ends[0]; k++) {
        size_t el = strlen(ends[k]);
        if (memcmp(sc->s + w->end - el, ends[k], el) == 0)
            return 1;
    }
    return 0;
}

/* The rest of a place name whose first word ends at e: "Frankfurt am Main",
 * "Halle (Saale)", "Bad Homburg vor der Höhe", "Nowy Sącz". Joining words are
 * taken only when a capitalised word follows them; without one, at most one
 * more capitalised word is taken (`more`), so "10115 Berlin Mitte" stays
 * short and a sentence after a city is not swallowed. Returns the new end. */
static size_t place_tail(const scan *sc, size_t e, int more)
{
    tok w;
    for (int k = 0; k < 3 && e + 2 < sc->n && sc->s[e] == ' '; k++) {
        if (sc->s[e + 1] == '(') { /* "Halle (Saale)" */
            if (next_word(sc, e + 2, 0, SEPS(""), &w) && place_word(sc, &w) && w.end < sc->n &&
                sc->s[w.end] == ')')
                e = w.end + 1;
            break;
        }
        size_t j = e + 1;
        int joined = 0;
        while (joined < 2 && next_word(sc, j, 0, SEPS(""), &w) && place_join(sc, &w) && w.end < sc->n &&
               sc->s[w.end] == ' ') {
            j = w.end + 1;
            joined++;
        }
        if (!next_word(sc, j, 0, SEPS(""), &w) || !place_word(sc, &w))
            break;
        if (!joined && !more-- && !region_adjective(sc, &w))
            break;
        e = w.end;
    }
    return e;
}

/* Postal code + city: "10115 Berlin", "1010 Wien", "00-950 Warszawa". */
/* A street without a street word right before a postal code found as an
 * address: one or two capitalised words and a house number, then ", "
 * ("Lipowa 7, 05-070 Sulejówek", "Weidenkamp 23a, 67434 Neustadt"). The
 * postal code and its town already make it an address; the words must be
 * no listed term (not "Termin 7, 05-070"). */
RARE_PATH static void street_before_postcode(scan *sc, size_t start)
{
    if (start < 4 || sc->s[start - 2] != ',' || sc->s[start - 1] != ' ' || sc->street_end == start - 2)
        return;
    size_t b = 0;
    const tok *q = prev_tok(sc, 0);
    while (q && q->end > start - 2 && b < 3)
        q = prev_tok(sc, ++b);
    if (!q || q->end != start - 2 || !is_digit(sc->s[q->start]) || q->end - q->start > 4 ||
        q->start < sc->covered || q->start < 2 || sc->s[q->start - 1] != ' ')
        return;
    size_t st = NO_CTX, at = q->start - 1;
    for (int words = 0; words < 2; words++) {
        const tok *w = prev_tok(sc, ++b);
        if (!w || w->end != at || !(w->flags & TF_CAP) || (w->flags & TF_DIGIT) || w->kinds ||
            w->start < sc->covered || w->end - w->start < 3)
            break;
        st = w->start;
        if (w->start == 0 || sc->s[w->start - 1] != ' ')
            break;
        at = w->start - 1;
    }
    if (st == NO_CTX)
        return;
    emit(sc, st, start - 2, REDACT_ADDRESS, R_ADDR_STREET);
    sc->street_end = start - 2;
}

static size_t postcode(scan *sc, const run *r, const size_t *g, size_t ng)
{
    int pl_shape = ng == 2 && g[0] == 2 && g[1] == 3 && r->sep[2] == '-';
    if (!(ng == 1 && (r->n == 4 || r->n == 5)) && !pl_shape)
        return 0;
    size_t e = r->end[r->n - 1];
    tok w;
    if (e >= sc->n || sc->s[e] != ' ' || !next_word(sc, e, 1, SEPS(" "), &w) || !(w.flags & TF_CAP) ||
        (w.flags & TF_DIGIT))
        return 0;
    dmatch m;
    int city = dict_match(sc, w.start, &m) && (m.kinds & RK_BIT(RK_CITY));
    size_t wend = city ? m.end : w.end;
    tok w2; /* "Bielsko-Biała", "Frankfurt-Höchst" */
    while (wend + 1 < sc->n && sc->s[wend] == '-' && next_word(sc, wend + 1, 0, SEPS(""), &w2) &&
           (w2.flags & TF_CAP) && !(w2.flags & TF_DIGIT))
        wend = w2.end;
    tok w3; /* "1420 Maple Avenue": the street rule takes the whole street */
    if (!city && wend < sc->n && sc->s[wend] == ' ' && next_word(sc, wend, 1, SEPS(" "), &w3) &&
        dict_match(sc, w3.start, &m) && (m.kinds & RK_BIT(RK_STREET_POST)))
        return 0;
    int street =
        sc->street_end != NO_CTX && r->start >= sc->street_end && r->start - sc->street_end <= 8;
    if (city || street || ctx_recent(sc, RK_CTX_ADDR, r->start, WIN_ADDR) ||
        (pl_shape && !word_kinds(sc, w.start, w.end))) {
        wend = place_tail(sc, wend, !city);
        street_before_postcode(sc, r->start);
        emit(sc, r->start, wend, REDACT_ADDRESS, R_ADDR_POSTCODE);
        return wend;
    }
    return 0;
}

/* US ZIP code after a state code: "Springfield, IL 62704", "Portland, OR 97205-1234". */
static size_t us_zip(scan *sc, const run *r, const size_t *g, size_t ng)
{
    static const char states[] = "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD "
                                 "MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD "
                                 "TN TX UT VT VA WA WV WI WY PR";
    if (sc->lang != REDACT_LANG_EN && sc->lang != REDACT_LANG_AUTO)
        return 0;
    if (!((ng == 1 && r->n == 5) || (ng == 2 && g[0] == 5 && g[1] == 4 && r->sep[5] == '-')))
        return 0;
    size_t p = r->start;
    if (p < 5 || sc->s[p - 1] != ' ' || !is_upper_ascii(sc->s[p - 2]) ||
        !is_upper_ascii(sc->s[p - 3]) || (sc->s[p - 4] != ' ' && sc->s[p - 4] != ',') ||
        (p > 4 && sc->s[p - 4] == ' ' && sc->s[p - 5] != ','))
        return 0;
    for (size_t i = 0; i + 1 < sizeof states; i += 3)
        if (states[i] == sc->s[p - 3] && states[i + 1] == sc->s[p - 2]) {
            size_t e = r->end[r->n - 1];
            emit(sc, p, e, REDACT_ADDRESS, R_ADDR_POSTCODE);
            return e;
        }
    return 0;
}

/* House number at i (after optional spaces): "12", "12a", "12-14", "10/5",
 * "12." (Hungarian). Returns its end or 0. */
/* Length of "em." or "fsz."/"fszt." at i (Hungarian floor words), 0 if none. */
static size_t hu_floor_word(const scan *sc, size_t i)
{
    static const char *const words[] = {"em.", "fsz.", "fszt."};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        size_t l = strlen(words[k]);
        if (i + l <= sc->n && memcmp(sc->s + i, words[k], l) == 0)
            return l;
    }
    return 0;
}

/* Hungarian floor and door after a house number ending at j: "23. II/5",
 * "18. fsz. 2.", "4. III. em. 12.", "7. 2. em. 5". Returns the new end, or j. */
static size_t hu_floor_door(const scan *sc, size_t j)
{
    if (j + 2 >= sc->n || sc->s[j] != ' ')
        return j;
    size_t i = j + 1, k = 0, fw;
    if ((fw = hu_floor_word(sc, i)) != 0) { /* "fsz. 2." */
        i += fw;
    } else {
        while (i < sc->n && k < 4 && (sc->s[i] == 'I' || sc->s[i] == 'V' || sc->s[i] == 'X')) {
            i++;
            k++;
        }
        if (!k)
            while (i < sc->n && k < 2 && is_digit(sc->s[i])) {
                i++;
                k++;
            }
        if (!k || i + 1 >= sc->n)
            return j;
        if (sc->s[i] == '/' && is_digit(sc->s[i + 1])) { /* "II/5" */
            i++;
            for (k = 0; i < sc->n && is_digit(sc->s[i]) && k < 3; k++)
                i++;
            return i < sc->n && is_word_at(sc, i) ? j : i;
        }
        if (sc->s[i] != '.' || i + 2 >= sc->n || sc->s[i + 1] != ' ' ||
            !(fw = hu_floor_word(sc, i + 2)))
            return j; /* a roman or arabic floor needs "em." after it */
        i += 2 + fw;
    }
    size_t e = i; /* after the floor word; a door number may follow */
    if (i + 1 < sc->n && sc->s[i] == ' ' && is_digit(sc->s[i + 1])) {
        i++;
        for (k = 0; i < sc->n && is_digit(sc->s[i]) && k < 3; k++)
            i++;
        if (i < sc->n && is_word_at(sc, i))
            return e;
        e = i < sc->n && sc->s[i] == '.' ? i + 1 : i;
    }
    return e;
}

static size_t house_number(const scan *sc, size_t i)
{
    size_t j = i, k = 0;
    while (j < sc->n && sc->s[j] == ' ' && k < 2) {
        j++;
        k++;
    }
    size_t d = 0;
    while (j < sc->n && is_digit(sc->s[j]) && d < 5) {
        j++;
        d++;
    }
    if (d == 0 || d > 4 || (j < sc->n && is_digit(sc->s[j])))
        return 0;
    if (j < sc->n &&
        ((sc->s[j] >= 'a' && sc->s[j] <= 'z') || (sc->s[j] >= 'A' && sc->s[j] <= 'Z')) &&
        !is_word_at(sc, j + 1))
        j++;
    if (j + 1 < sc->n && (sc->s[j] == '/' || sc->s[j] == '-') && is_digit(sc->s[j + 1])) {
        j++;
        for (d = 0; j < sc->n && is_digit(sc->s[j]) && d < 4; d++)
            j++;
    } else if (j + 1 < sc->n && sc->s[j] == '/' &&
               ((sc->s[j + 1] >= 'a' && sc->s[j + 1] <= 'z') ||
                (sc->s[j + 1] >= 'A' && sc->s[j + 1] <= 'Z')) &&
               !is_word_at(sc, j + 2)) {
        j += 2; /* "7/B" (Hungarian staircase) */
    }
    if (j < sc->n && is_word_at(sc, j))
        return 0; /* "12mg", "5Tabletten" */
    if (j < sc->n && sc->s[j] == '.' && sc->lang != REDACT_LANG_DE && sc->lang != REDACT_LANG_EN)
        j++;
    if (sc->lang == REDACT_LANG_HU || sc->lang == REDACT_LANG_AUTO)
        j = hu_floor_door(sc, j);
    return j;
}

static int is_alpha_ascii(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* "Flat 3, 27 Marlowe Road", "Apartment 12B, 4 Crown Street": a flat or unit
 * number before an English-order street is part of the address. start is the
 * house number; returns the start of the flat word, or start if there is none. */
static size_t flat_before(const scan *sc, size_t start)
{
    static const char *const words[] = {"flat", "apartment", "apt", "unit", "suite"};
    size_t i = start;
    if (i < 2 || sc->s[i - 1] != ' ')
        return start;
    i--;
    if (sc->s[i - 1] == ',')
        i--;
    size_t k = 0;
    while (i > 0 && k < 5 && (is_digit(sc->s[i - 1]) || is_alpha_ascii(sc->s[i - 1]))) {
        i--;
        k++;
    }
    if (!k || !is_digit(sc->s[i]) || i < 2 || sc->s[i - 1] != ' ')
        return start;
    size_t we = i - 1;
    if (sc->s[we - 1] == '.') /* "Apt. 4" */
        we--;
    size_t ws = we;
    while (ws > 0 && is_alpha_ascii(sc->s[ws - 1]))
        ws--;
    if (ws < sc->covered || (ws > 0 && (sc->s[ws - 1] & 0x80)))
        return start;
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        size_t l = strlen(words[w]);
        if (we - ws != l)
            continue;
        size_t c = 0;
        while (c < l && (sc->s[ws + c] | 0x20) == words[w][c])
            c++;
        if (c == l)
            return ws;
    }
    return start;
}

/* "My address is 52 Kingsway.": a house number and one or two capitalised
 * words right after an address word, ending the phrase (English order
 * without a street word). */
static size_t street_after_addr_word(scan *sc, const run *r, size_t ng)
{
    if (ng != 1 || r->n > 4 || !ctx_recent(sc, RK_CTX_ADDR, r->start, 16))
        return 0;
    size_t e = house_number(sc, r->start);
    tok w;
    int words = 0;
    while (e && words < 2 && e < sc->n && sc->s[e] == ' ' && next_word(sc, e + 1, 0, SEPS(""), &w) &&
           place_word(sc, &w)) {
        e = w.end;
        words++;
    }
    if (!words || (e < sc->n && (sc->s[e] == 0 || !strchr(",.;\n\r", sc->s[e]))))
        return 0;
    if (e < sc->n && sc->s[e] == '.' && e + 1 < sc->n && !is_space(sc->s[e + 1]))
        return 0;
    emit(sc, flat_before(sc, r->start), e, REDACT_ADDRESS, R_ADDR_STREET);
    sc->street_end = e;
    return e;
}

/* A digit token at t. Returns where scanning resumes. */
static size_t on_number(scan *sc, const tok *t)
{
    size_t p = t->start;
    /* Codes glued to letters ("RE-2024-0815", "A-12") are references. */
    if (p >= 2 && sc->s[p - 1] == '-' && (cls_at(sc, p - 2, NULL) & RF_ALPHA))
        return t->end;

    size_t e = date_words(sc, p);
    if (e)
        return e;

    /* Not zeroed (400 bytes a number): every reader stays below r.n, and
     * r.n >= 1 since p starts on a digit. */
    run r;
    collect_digits(sc, p, &r);
    size_t g[12];
    size_t ng = groups(&r, g, 11);
    if (ng > 11)
        return r.end[r.n - 1];
    size_t rend = r.end[r.n - 1];

    e = date_numeric(sc, &r, g, ng);
    if (e)
        return e;

    /* RVNR written with its letter: "12 010180 M 123" or "12010180M123". */
    if (r.n == 8) {
        size_t j = rend;
        if (j < sc->n && sc->s[j] == ' ')
            j++;
        if (j + 1 < sc->n && sc->s[j] >= 'A' && sc->s[j] <= 'Z') {
            size_t k = j + 1;
            if (k < sc->n && sc->s[k] == ' ')
                k++;
            if (k + 3 <= sc->n && is_digit(sc->s[k]) && is_digit(sc->s[k + 1]) &&
                is_digit(sc->s[k + 2]) && !is_word_at(sc, k + 3)) {
                char buf[12];
                memcpy(buf, r.c, 8);
                buf[8] = (char)sc->s[j];
                memcpy(buf + 9, sc->s + k, 3);
                if (redact__rvnr_valid(buf, 12)) {
                    emit(sc, p, k + 3, REDACT_NATIONAL_ID, R_RVNR);
                    return k + 3;
                }
            }
        }
    }

    int plus = p > 0 && sc->s[p - 1] == '+';
    size_t pstart = plus ? p - 1 : p;
    if (p > 0 && sc->s[p - 1] == '(')
        pstart = p - 1;
    if (p > 1 && sc->s[p - 1] == '(' && sc->s[p - 2] == '+') {
        plus = 1;
        pstart = p - 2;
    }
    int idctx = ctx_recent(sc, RK_CTX_ID, p, WIN_ID);
    int neg = ctx_recent(sc, RK_CTX_NEG, p, WIN_NEG) && !idctx;
    int alpha_tail = rend < sc->n && is_word_at(sc, rend);
    size_t unit = alpha_tail ? 0 : unit_after(sc, rend);

    /* Identifiers: try every prefix that ends at a group boundary. */
    if (!plus && !neg && !alpha_tail) {
        for (size_t i = 1; i <= r.n; i++) {
            if (i < r.n && !r.sep[i])
                continue;
            if (i < 9 || i > 11)
                continue;
            redact_category cat;
            uint16_t rule = numeric_id(sc, r.c, i, idctx || sc->lang == REDACT_LANG_AUTO, &cat);
            if (rule == R_NONE && i == 9 &&
                (idctx || sc->lang == REDACT_LANG_EN || sc->lang == REDACT_LANG_AUTO) &&
                redact__ssn_shape(r.c, 9) &&
                (idctx ||
                 (ng == 3 && g[0] == 3 && g[1] == 2 && r.sep[3] == '-' && r.sep[5] == '-'))) {
                rule = R_SSN;
                cat = REDACT_NATIONAL_ID;
            }
            if (rule != R_NONE) {
                emit(sc, p, r.end[i - 1], cat, rule);
                return r.end[i - 1];
            }
        }
    }

    if (unit || alpha_tail)
        return rend; /* a dose or a measurement, not a contact detail */

    if (!neg || plus) {
        uint16_t rule = phone_shape(sc, &r, g, ng, plus);
        if (rule == R_NONE && ctx_recent(sc, RK_CTX_PHONE, pstart, WIN_PHONE) && r.n >= 6 &&
            r.n <= 15)
            rule = R_PHONE_CONTEXT;
        if (rule != R_NONE) {
            emit(sc, pstart, rend, REDACT_PHONE, rule);
            return rend;
        }
    }
    if (!neg && ng == 1 && r.n == 4 &&
        (ctx_recent(sc, RK_CTX_BIRTH, pstart, WIN_BIRTH_YEAR) || birth_after(sc, rend) ||
         bracketed_year_of_person(sc, p, rend))) {
        int y = (r.c[0] - '0') * 1000 + (r.c[1] - '0') * 100 + (r.c[2] - '0') * 10 + (r.c[3] - '0');
        if (y >= 1900 && y <= 2030) { /* "born 1953", "rocznik 1962", "1958-ban született" */
            emit(sc, p, rend, REDACT_DOB, R_DOB_CONTEXT);
            return rend;
        }
    }
    if (!neg) {
        e = us_zip(sc, &r, g, ng);
        if (e)
            return e;
        e = postcode(sc, &r, g, ng);
        if (e)
            return e;
        e = street_after_addr_word(sc, &r, ng);
        if (e)
            return e;
    }
    return rend;
}

/* -------------------------------------------------- alphanumeric tokens */

/* IBAN: two letters, two digits, then groups of letters/digits separated by
 * single spaces, exactly as long as the country's registered length. */
static size_t try_iban(scan *sc, size_t p)
{
    const unsigned char *s = sc->s;
    if (p + 4 > sc->n || !is_upper_ascii(s[p]) || !is_upper_ascii(s[p + 1]) ||
        !is_digit(s[p + 2]) || !is_digit(s[p + 3]))
        return 0;
    char cc[2] = {(char)s[p], (char)s[p + 1]};
    size_t want = redact__iban_length(cc, 2);
    if (!want)
        return 0;
    char buf[34];
    size_t k = 0, i = p;
    while (i < sc->n && k < want) {
        unsigned char c = s[i];
        if (is_digit(c) || is_upper_ascii(c)) {
            buf[k++] = (char)c;
            i++;
        } else if (c >= 'a' && c <= 'z') {
            buf[k++] = (char)(c - 32);
            i++;
        } else if (c == ' ' && i + 1 < sc->n && (is_digit(s[i + 1]) || is_upper_ascii(s[i + 1]))) {
            i++;
        } else {
            break;
        }
    }
    if (k != want || is_word_at(sc, i) || !redact__iban_valid(buf, k))
        return 0;
    emit(sc, p, i, REDACT_IBAN, R_IBAN);
    return i;
}

/* ICD-10: letter, two digits, optional ".d" or ".dd" ("E11.9", "F32.1"). The
 * short form "J45" counts only after a diagnosis word, since "B12" or "A12"
 * are just as often vitamins or seats. */
static size_t try_icd(scan *sc, const tok *t)
{
    const unsigned char *s = sc->s;
    size_t p = t->start;
    if (t->end - p != 3 || !is_upper_ascii(s[p]) || s[p] == 'U' || !is_digit(s[p + 1]) ||
        !is_digit(s[p + 2]))
        return 0;
    size_t e = t->end;
    int sub = 0;
    if (e + 1 < sc->n && s[e] == '.' && (is_digit(s[e + 1]) || s[e + 1] == '-')) {
        size_t j = e + 1, k = 0;
        while (j < sc->n && (is_digit(s[j]) || is_upper_ascii(s[j]) || s[j] == '-') && k < 3) {
            j++;
            k++;
        }
        if (!is_word_at(sc, j)) {
            e = j;
            sub = 1;
        }
    }
    if (!sub && !ctx_recent(sc, RK_CTX_ICD, p, WIN_ICD))
        return 0;
    if (!sub && is_word_at(sc, e))
        return 0;
    emit(sc, p, e, REDACT_CONDITION, R_ICD10);
    return e;
}

/* English street without a street word before ", Town POSTCODE": a house
 * number and one or two capitalised words ("52 Kingsway, Leeds LS6 2QN",
 * "Flat 3, 12 Highfield, Sheffield S10 2TN"). `back` is the ring index of the
 * last token before `start`. The postcode makes it an address. */
static void uk_street_before(scan *sc, size_t start, size_t back)
{
    if (start < 2 || sc->s[start - 2] != ',' || sc->s[start - 1] != ' ')
        return;
    size_t end = start - 2, at = end;
    int words = 0;
    const tok *q;
    while (words < 2 && (q = prev_tok(sc, back)) != NULL && q->end == at &&
           (q->flags & TF_CAP) && !(q->flags & TF_DIGIT) && q->start >= sc->covered) {
        at = q->start - 1;
        back++;
        words++;
        if (q->start == 0 || sc->s[q->start - 1] != ' ')
            break;
    }
    q = prev_tok(sc, back);
    if (!words || !q || q->end != at || !is_digit(sc->s[q->start]) || q->end - q->start > 4 ||
        q->start < sc->covered || sc->s[q->end] != ' ')
        return;
    emit(sc, flat_before(sc, q->start), end, REDACT_ADDRESS, R_ADDR_STREET);
    sc->street_end = end;
}

/* UK postcode "SW1A 1AA", "M1 1AE": outward code token, space, inward code. */
static size_t try_uk_postcode(scan *sc, const tok *t)
{
    const unsigned char *s = sc->s;
    size_t p = t->start, l = t->end - p;
    if (l < 2 || l > 4 || !is_upper_ascii(s[p]))
        return 0;
    for (size_t i = p; i < t->end; i++)
        if (!is_digit(s[i]) && !is_upper_ascii(s[i]))
            return 0;
    size_t e = t->end;
    if (e + 4 > sc->n || s[e] != ' ' || !is_digit(s[e + 1]) || !is_upper_ascii(s[e + 2]) ||
        !is_upper_ascii(s[e + 3]) || is_word_at(sc, e + 4))
        return 0;
    /* The town before it belongs to the same span: a known city ("Leeds",
     * "Newcastle upon Tyne") or one capitalised word ("Bath"). */
    size_t start = p;
    size_t back = 0; /* ring index of the first token before the span */
    if (sc->city_end != NO_CTX && sc->city_end + 1 == p && s[sc->city_end] == ' ' &&
        sc->city_start >= sc->covered) {
        start = sc->city_start;
        while (back < 4 && prev_tok(sc, back) && prev_tok(sc, back)->start >= start)
            back++;
    } else {
        const tok *q = prev_tok(sc, 0);
        if (q && q->end + 1 == p && s[q->end] == ' ' && (q->flags & TF_CAP) && !q->kinds &&
            !(q->flags & TF_DIGIT) && q->start >= sc->covered && q->end - q->start >= 3 &&
            !is_upper_ascii(s[q->start + 1])) {
            start = q->start;
            back = 1;
            /* a town of two words after a comma: "…Street, Kirkby Stephen CA17 4HT" */
            const tok *q2 = prev_tok(sc, 1);
            if (q2 && q2->end + 1 == q->start && s[q2->end] == ' ' && (q2->flags & TF_CAP) &&
                !q2->kinds && !(q2->flags & TF_DIGIT) && q2->start >= sc->covered + 2 &&
                q2->end - q2->start >= 3 && s[q2->start - 2] == ',' && s[q2->start - 1] == ' ') {
                start = q2->start;
                back = 2;
            }
        }
    }
    uk_street_before(sc, start, back);
    emit(sc, start, e + 4, REDACT_ADDRESS, R_ADDR_POSTCODE);
    return e + 4;
}

static inline size_t on_word(scan *sc, tok *t);

static size_t on_alnum(scan *sc, const tok *t)
{
    size_t e = try_iban(sc, t->start);
    if (e)
        return e;
    const unsigned char *s = sc->s;
    size_t p = t->start;
    if (t->end - p == 10 && (is_upper_ascii(s[p]) || (s[p] >= 'a' && s[p] <= 'z'))) {
        char buf[10];
        buf[0] = (char)(s[p] & ~0x20);
        memcpy(buf + 1, s + p + 1, 9);
        if (redact__kvnr_valid(buf, 10) && !ctx_recent(sc, RK_CTX_NEG, p, WIN_NEG)) {
            emit(sc, p, t->end, REDACT_HEALTH_ID, R_KVNR);
            return t->end;
        }
    }
    if (t->end - p == 12 && is_digit(s[p])) {
        char buf[12];
        memcpy(buf, s + p, 12);
        buf[8] = (char)(buf[8] & ~0x20);
        if (redact__rvnr_valid(buf, 12)) {
            emit(sc, p, t->end, REDACT_NATIONAL_ID, R_RVNR);
            return t->end;
        }
    }
    e = try_icd(sc, t);
    if (e)
        return e;
    e = try_uk_postcode(sc, t);
    if (e)
        return e;
    /* Terms with digits ("HbA1c", "B12", "H1N1"): a token that starts with a
     * letter and is no identifier goes to the dictionary like a word. */
    dmatch m;
    if ((t->cls & RF_ALPHA) && dict_match(sc, t->start, &m)) {
        tok w = *t;
        return on_word(sc, &w);
    }
    return t->end;
}

/* ---------------------------------------------------------------- words */

/* The suffixes are a few bytes: a loop, not a library call per ending. */
static inline int ends_with(const char *w, size_t n, const char *suf, size_t l)
{
    if (l >= n)
        return 0;
    for (size_t k = l; k-- > 0;) /* the last byte first: it rejects most */
        if (w[n - l + k] != suf[k])
            return 0;
    return 1;
}

/* A string literal with its length, taken by sizeof so that the two cannot
 * disagree and no rule calls strlen per word. */
typedef struct {
    const char *s;
    size_t n;
} sized_str;
#define SIZED(w) {w, sizeof w - 1}

/* Street-name suffixes: street_compound runs for every capitalised word the
 * lists do not hold. */
static const sized_str street_suffixes[] = {
    SIZED("strasse"), SIZED("weg"),  SIZED("gasse"), SIZED("allee"), SIZED("platz"),
    SIZED("ring"),    SIZED("damm"), SIZED("ufer"),  SIZED("chaussee"), SIZED("steig"),
    SIZED("pfad"),    SIZED("str"),  SIZED("kamp"),  SIZED("stieg"), SIZED("twiete")};

/* The last two folded bytes of the street suffixes: bit b - 'a' of
 * street_pair[l - 'a'] when a suffix ends in b, l ("strasse": 's', 'e').
 * test_redact_fast checks it against street_suffixes. */
#define SP(c) (1u << ((c) - 'a'))
static const uint32_t street_pair[26] = {
    ['d' - 'a'] = SP('a'),
    ['e' - 'a'] = SP('e') | SP('s') | SP('t'),
    ['g' - 'a'] = SP('e') | SP('i') | SP('n'),
    ['m' - 'a'] = SP('m'),
    ['p' - 'a'] = SP('m'),
    ['r' - 'a'] = SP('e') | SP('t'),
    ['z' - 'a'] = SP('t'),
};
#undef SP

/* German compound street names: "Hauptstraße 5", "Lindenweg 12a". */
static int street_compound(const scan *sc, const tok *t, size_t *after)
{
    /* Cheap rejects first, from the word's last two bytes (street_pair),
     * before the word is folded: about 2,900 capitalised words per 200 kB
     * get here, and about 1,000 end in a suffix's last letter. Or-ing 0x20
     * maps only 'A'..'Z' onto 'a'..'z'. A byte before the last one that is
     * no ASCII letter or digit may fold to several bytes or none ("ße" is
     * "sse"), so only an ASCII one rejects: a digit, or a letter no suffix
     * has there. */
    unsigned char last = sc->s[t->end - 1] | 0x20;
    /* A match needs 3 folded bytes before the suffix (3 or more), so 6, and
     * a word folds to at most as many bytes as it has. */
    if (last < 'a' || last > 'z' || !street_pair[last - 'a'] || t->end - t->start < 6)
        return 0;
    uint8_t pen = ascii_fold[sc->s[t->end - 2]];
    if (pen && (pen < 'a' || !((street_pair[last - 'a'] >> (pen - 'a')) & 1)))
        return 0;
    char f[48];
    size_t fl = 0, i = t->start;
    while (i < t->end) {
        uint8_t a = ascii_fold[sc->s[i]];
        if (a) { /* ASCII letter or digit: the fold in one load */
            if (fl + 1 > sizeof f)
                return 0;
            f[fl++] = (char)a;
            i++;
            continue;
        }
        uint32_t cp;
        char b[2];
        unsigned cls;
        size_t l = redact__utf8(sc->s, i, sc->n, &cp);
        size_t k = redact__fold(cp, b, &cls);
        if (fl + k > sizeof f)
            return 0;
        memcpy(f + fl, b, k);
        fl += k;
        i += l;
    }
    for (size_t k = 0; k < sizeof street_suffixes / sizeof street_suffixes[0]; k++) {
        size_t sl = street_suffixes[k].n;
        /* the last byte first, inline: it rejects most, without a call */
        if (fl < sl + 3 || f[fl - 1] != street_suffixes[k].s[sl - 1] ||
            memcmp(f + fl - sl, street_suffixes[k].s, sl) != 0)
            continue;
        size_t e = t->end;
        if (strcmp(street_suffixes[k].s, "str") == 0) { /* "Hauptstr." needs its dot */
            if (e >= sc->n || sc->s[e] != '.')
                continue;
            e++;
        }
        *after = e;
        return 1;
    }
    return 0;
}

/* Address around a street word: name words before it (and, in English, a
 * house number before those), a house number after it. */
static size_t street_post(scan *sc, const tok *t, size_t mend)
{
    size_t start = t->start;
    int names = 0;
    for (size_t b = 0; b < 3; b++) {
        const tok *p = prev_tok(sc, b);
        if (!p || !(p->flags & TF_CAP) || (p->flags & TF_DIGIT) || p->kinds ||
            p->start < sc->covered || (p->end != start - 1) ||
            (sc->s[p->end] != ' ' && sc->s[p->end] != '-'))
            break;
        start = p->start;
        names++;
    }
    if (!names)
        return 0;
    size_t hn = house_number(sc, mend);
    if (hn) {
        emit(sc, start, hn, REDACT_ADDRESS, R_ADDR_STREET);
        sc->street_end = hn;
        return hn;
    }
    /* English order: "221B Baker Street" */
    const tok *num = prev_tok(sc, (size_t)names);
    if (num && (num->flags & TF_DIGIT) && num->start >= sc->covered && num->end + 1 == start &&
        num->end - num->start <= 4) {
        emit(sc, flat_before(sc, num->start), mend, REDACT_ADDRESS, R_ADDR_STREET);
        sc->street_end = mend;
        return mend;
    }
    return 0;
}

/* " in 83022 Rosenheim", " in Linz" after a house number: the street is
 * followed by its town. */
static int town_follows(const scan *sc, size_t i)
{
    tok w;
    if (i + 4 >= sc->n || sc->s[i] != ' ' || !next_word(sc, i + 1, 0, SEPS(""), &w) ||
        w.end - w.start != 2 || (memcmp(sc->s + w.start, "in", 2) != 0 &&
                                 memcmp(sc->s + w.start, "im", 2) != 0))
        return 0;
    if (!next_word(sc, w.end, 1, SEPS(" "), &w))
        return 0;
    return is_digit(sc->s[w.start]) ? (w.end - w.start == 4 || w.end - w.start == 5)
                                     : place_word(sc, &w);
}

/* "ul. Marszałkowska 10/5", "al. Jana Pawła II 12", and in strict mode the
 * German "Am Sonnenhang 4": there the words must not be dictionary words
 * ("Am Montag 3 …") and the number must end the phrase (", 79098 Freiburg"). */
static size_t street_pre(scan *sc, size_t start, size_t mend, int strict)
{
    size_t at = mend;
    tok w;
    int words = 0;
    for (int k = 0; k < 4; k++) {
        if (!next_word(sc, at, 2, SEPS(" "), &w))
            break;
        if (w.flags & TF_DIGIT) {
            if (words == 0 && w.end - w.start <= 2) { /* "ul. 3 Maja" */
                at = w.end;
                continue;
            }
            break;
        }
        if (!(w.flags & TF_CAP))
            break;
        if (strict && (word_kinds(sc, w.start, w.end) & ~NAME_KINDS_OK))
            return 0;
        at = w.end;
        words++;
    }
    if (!words)
        return 0;
    size_t hn = house_number(sc, at);
    if (!hn)
        return 0;
    if (strict && hn < sc->n && !strchr(",;)\n\r", sc->s[hn]) && sc->s[hn] != 0 &&
        !(sc->s[hn] == '.' && (hn + 1 >= sc->n || is_space(sc->s[hn + 1]))) &&
        !town_follows(sc, hn))
        return 0;
    size_t j = hn; /* "10 m. 5" (Polish flat number) */
    if (j + 4 < sc->n && memcmp(sc->s + j, " m. ", 4) == 0 && is_digit(sc->s[j + 4])) {
        j += 4;
        while (j < sc->n && is_digit(sc->s[j]))
            j++;
        hn = j;
    }
    emit(sc, start, hn, REDACT_ADDRESS, R_ADDR_STREET);
    sc->street_end = hn;
    return hn;
}

/* Medication followed by a dose: "Ibuprofen 400 mg", "Metformin 1000mg". */
static size_t dose_after(const scan *sc, size_t e)
{
    size_t j = e;
    if (j < sc->n && sc->s[j] == ' ')
        j++;
    size_t d = 0;
    while (j < sc->n &&
           (is_digit(sc->s[j]) || ((sc->s[j] == ',' || sc->s[j] == '.') && d > 0 && j + 1 < sc->n &&
                                   is_digit(sc->s[j + 1]))) &&
           d < 8) {
        j++;
        d++;
    }
    if (d == 0)
        return e;
    tok w;
    if (!next_word(sc, j, 1, SEPS(" "), &w)) {
        /* "Euthyrox 50," – a bare strength at the end of a phrase */
        if (j >= sc->n || sc->s[j] == ',' || sc->s[j] == '.' || sc->s[j] == ')' ||
            sc->s[j] == '!' || sc->s[j] == '?' || sc->s[j] == '\n')
            return j;
        /* Hungarian case suffix on the strength: "Euthyrox 50-et szedek" */
        if (sc->s[j] == '-' && j + 1 < sc->n && (cls_at(sc, j + 1, NULL) & RF_ALPHA))
            return j;
        return e;
    }
    dmatch m;
    if (dict_match(sc, w.start, &m) && (m.kinds & RK_BIT(RK_UNIT)))
        return m.end;
    /* "Diclofenac 75 nehmen", "Controloc 40 od roku": a bare strength of up to
     * four digits right after the name belongs to it (a date or time does not:
     * "12.03." and "8:30" go on with a separator, not a space and a word). */
    if (d <= 4 && sc->s[e] == ' ' && sc->s[j] == ' ')
        return j;
    return e;
}

/* A child's name that is also a month word ("Córka Maja", "Tochter April"):
 * after a kinship word a capitalised month not followed by a number is a name. */
static size_t kin_month_name(scan *sc, size_t pos)
{
    tok w;
    if (!next_word(sc, pos, 4, SEPS(" ,"), &w) || !(w.flags & TF_CAP) || (w.flags & TF_DIGIT) ||
        word_kinds(sc, w.start, w.end) != RK_BIT(RK_MONTH))
        return pos;
    size_t j = w.end;
    while (j < sc->n && (sc->s[j] == ' ' || sc->s[j] == ','))
        j++;
    if (j < sc->n && is_digit(sc->s[j]))
        return pos;
    emit_person(sc, w.start, w.end, R_PERSON_INTRO);
    return w.end;
}

/* Does a sentence or line start at word start i? */
static int sentence_start(const scan *sc, size_t i)
{
    while (i > 0 && (sc->s[i - 1] == ' ' || sc->s[i - 1] == '\t'))
        i--;
    return i == 0 || sc->s[i - 1] == '.' || sc->s[i - 1] == '!' || sc->s[i - 1] == '?' ||
           sc->s[i - 1] == ':' || sc->s[i - 1] == '\n' || sc->s[i - 1] == '\r';
}

/* Is the word after i (skipping spaces) one a writer starts with after
 * giving their name: "ich", "I", "my", "chciałam", "szeretnék"? Title-case
 * phrases ("Quick Question, are you open?") are not followed by these. */
static int self_word_after(const scan *sc, size_t i)
{
    static const char *const words[] = {
        "ich",       "wir",        "mein",       "meine",     "hier",      "i",
        "my",        "we",         "here",       "this",      "chciałem",  "chciałam",
        "chciałbym", "chciałabym", "piszę",      "dzwonię",   "jestem",    "mam",
        "proszę",    "szeretnék",  "szeretném",  "érdeklődnék", "kérnék",  "kérdéses",
        "én"};
    tok w;
    if (!next_word(sc, i, 2, SEPS(" "), &w))
        return 0;
    size_t l = w.end - w.start;
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        if (strlen(words[k]) != l)
            continue;
        size_t c = 0;
        while (c < l && (sc->s[w.start + c] | (sc->s[w.start + c] < 0x80 ? 0x20 : 0)) ==
                            (unsigned char)words[k][c])
            c++;
        if (c == l)
            return 1;
    }
    return 0;
}

/* Does only white space or a full stop follow i up to the end of the text? */
static int last_line(const scan *sc, size_t i)
{
    if (i < sc->n && sc->s[i] == '.')
        i++;
    while (i < sc->n && is_space(sc->s[i]))
        i++;
    return i == sc->n;
}

/* Two unknown capitalised words that open a message or a line, followed by a
 * comma and a word a writer starts with after their name, or ending the
 * message: "Herbert Maier, ich wollte fragen", "Gordon McAllister, I was
 * wondering", a signature line "Ottokar Brenninger".
 * German adjectives start messages the same way ("Kurze Frage,", "Frohe
 * Weihnachten"), so in German a first word with an adjective ending is left
 * alone; known first names are found by the first-name rule anyway. */
/* A double family name: "Szabó-Lengyel Katalin", "Kowalska-Nowak". start is the
 * second part, prev_tok(sc, back) the word before it; returns where the name begins. */
static size_t double_name_start(const scan *sc, size_t back, size_t start)
{
    const tok *q = prev_tok(sc, back);
    if (q && (q->flags & TF_CAP) && !(q->flags & TF_DIGIT) && !q->kinds &&
        q->start >= sc->covered && q->end + 1 == start && sc->s[q->end] == '-')
        return q->start;
    return start;
}

static size_t name_pair_at_line_start(scan *sc, tok *t)
{
    size_t i = t->start;
    while (i > 0 && (sc->s[i - 1] == ' ' || sc->s[i - 1] == '\t'))
        i--;
    if (i > 0 && sc->s[i - 1] != '\n' && sc->s[i - 1] != '\r' &&
        !(i >= 3 && (unsigned char)sc->s[i - 3] == 0xe2 && sc->s[i - 2] == 0x80 &&
          (sc->s[i - 1] == 0x94 || sc->s[i - 1] == 0x93)) && /* "— Name", "– Name" */
        sc->s[i - 1] != '-')
        return 0;
    if ((t->flags & TF_DIGIT) || t->end - t->start < 3 || t->end >= sc->n ||
        sc->s[t->end] != ' ' || !name_word(sc, t, 0))
        return 0;
    unsigned char b = sc->s[t->start + 1];
    if (b >= 'A' && b <= 'Z')
        return 0; /* "NHS", "AOK" */
    if (sc->lang == REDACT_LANG_DE || sc->lang == REDACT_LANG_AUTO) {
        const unsigned char *e = sc->s + t->end;
        if (e[-1] == 'e' || ((e[-1] == 'n' || e[-1] == 'r' || e[-1] == 's' || e[-1] == 'm') &&
                             e[-2] == 'e'))
            return 0;
    }
    tok v;
    if (!next_word(sc, t->end + 1, 0, SEPS(""), &v) || !name_word(sc, &v, 0) ||
        v.end - v.start < 2 || !(v.flags & TF_CAP))
        return 0;
    b = sc->s[v.start + 1];
    if (b >= 'A' && b <= 'Z')
        return 0;
    size_t e = v.end;
    if (!(e < sc->n && sc->s[e] == ',' && self_word_after(sc, e + 1)) && !last_line(sc, e))
        return 0;
    emit_person(sc, double_name_start(sc, 0, t->start), e, R_PERSON_FIRSTNAME);
    return e;
}

/* Hungarian married names end in "-né" ("Kovácsné", "Nagy Jánosné"). Polite
 * conditional verbs end the same way ("Megnézné?"), but they are capitalised
 * only at the start of a sentence, so there the word needs a family name
 * before it. */
static size_t hu_ne_name(scan *sc, const tok *t)
{
    size_t l = t->end - t->start;
    if (l < 6 || (t->flags & TF_DIGIT) || memcmp(sc->s + t->end - 3, "n\xc3\xa9", 3) != 0)
        return 0;
    const tok *p = prev_tok(sc, 0);
    size_t start = t->start;
    tok v;
    if (sentence_start(sc, t->start) &&
        !(t->end < sc->n && sc->s[t->end] == ' ' && next_word(sc, t->end + 1, 0, SEPS(""), &v) &&
          name_word(sc, &v, 0)))
        return 0; /* "Megnézné?" is a verb; "Horváthné Kiss Mária" a name */
    if (p && prev_is_name_word(sc, p, t->start) && !sentence_start(sc, p->start))
        start = p->start; /* "Nagy Jánosné"; not "Beszéltem Kovácsné" */
    emit_person(sc, start, t->end, R_PERSON_FIRSTNAME);
    return t->end;
}

/* Hungarian case endings on a given name that follows a family name: "Oláh
 * Zoltánnál", "Kiss Péterrel", "Szabó Gábort". The family name must be a
 * capitalised word no list knows; the given name must be on the first-name list
 * once the ending is cut off. Only consonant-final names: a vowel-final one
 * lengthens before the ending ("Annának") and is left to the other rules. */
static const sized_str hu_name_endings[] = {
    SIZED("nak"), SIZED("nek"), SIZED("n\xc3\xa1l"), SIZED("n\xc3\xa9l"), SIZED("nal"),
    SIZED("nel"), SIZED("ral"), SIZED("rel"), SIZED("lal"), SIZED("lel"), SIZED("tal"),
    SIZED("tel"), SIZED("sal"), SIZED("sel"), SIZED("val"), SIZED("vel"), SIZED("hoz"),
    SIZED("hez"), SIZED("h\xc3\xb6z"), SIZED("t\xc3\xb3l"), SIZED("t\xc5\x91l"),
    SIZED("r\xc3\xb3l"), SIZED("r\xc5\x91l"), SIZED("\xc3\xa9rt"), SIZED("ot"), SIZED("et"),
    SIZED("\xc3\xb6t"), SIZED("t"), SIZED("ra"), SIZED("re"), SIZED("ban"), SIZED("ben"),
    SIZED("ba"), SIZED("be"), SIZED("on"), SIZED("en"), SIZED("\xc3\xb6n")};
#undef SIZED

static size_t hu_case_name(scan *sc, const tok *t)
{
    const tok *p = prev_tok(sc, 0);
    if ((t->flags & TF_DIGIT) || !prev_is_name_word(sc, p, t->start))
        return 0;
    for (size_t i = 0; i < sizeof hu_name_endings / sizeof hu_name_endings[0]; i++) {
        size_t l = hu_name_endings[i].n;
        if (t->end - t->start < l + 3 ||
            !ends_with((const char *)sc->s + t->start, t->end - t->start, hu_name_endings[i].s, l))
            continue;
        scan w = *sc; /* the name without its ending: the text cut there */
        w.n = t->end - l;
        if (word_kinds(&w, t->start, w.n) & RK_BIT(RK_FIRSTNAME)) {
            emit_person(sc, p->start, t->end, R_PERSON_FIRSTNAME);
            return t->end;
        }
    }
    return 0;
}

/* "Selin Aydın, geb. …", "Maisie Hughes, born …", "Zenon Kubacki (ur. …": two
 * capitalised words (or a known first name) standing right before a birth
 * word, separated from it only by a comma, a space or a bracket, are the
 * person the date belongs to. The words were scanned already and nothing was
 * emitted over them (sc->covered), so the finding still comes in order. */
static void person_before_birth(scan *sc, size_t at)
{
    const tok *p0 = prev_tok(sc, 0), *p1 = prev_tok(sc, 1);
    if (!p0 || !(p0->flags & TF_CAP) || (p0->flags & TF_DIGIT) || p0->start < sc->covered ||
        (p0->kinds & ~NAME_KINDS_OK) || p0->end >= at || at - p0->end > 3)
        return;
    for (size_t i = p0->end; i < at; i++)
        if (sc->s[i] != ',' && sc->s[i] != ' ' && sc->s[i] != '(')
            return;
    size_t start = p0->start;
    if (p1 && (p1->flags & TF_CAP) && !(p1->flags & TF_DIGIT) && p1->start >= sc->covered &&
        !(p1->kinds & ~NAME_KINDS_OK) && p1->end + 1 == p0->start && sc->s[p1->end] == ' ')
        start = p1->start;
    else if (!(p0->kinds & RK_BIT(RK_FIRSTNAME)))
        return; /* one capitalised word alone may be any German noun ("Patientin") */
    emit_person(sc, start, p0->end, R_PERSON_BIRTH);
}

#define CTX_KINDS                                                                                  \
    (RK_BIT(RK_CTX_BIRTH) | RK_BIT(RK_CTX_PHONE) | RK_BIT(RK_CTX_NEG) | RK_BIT(RK_CTX_ID) |        \
     RK_BIT(RK_CTX_ADDR) | RK_BIT(RK_CTX_ICD))
/* Kinds on_word_rules reads only together with others (the health rules
 * read CAPS and VACC) or never (other rules look them up with dict_match):
 * a word with no other kind only gets its kinds set. Listed by what they
 * are, so that a new kind is acted on until it is added here. */
#define PASSIVE_KINDS                                                                              \
    (RK_BIT(RK_STOP) | RK_BIT(RK_UNIT) | RK_BIT(RK_MODPOST) | RK_BIT(RK_LINK) | RK_BIT(RK_PCOMP) |  \
     RK_BIT(RK_VLINK) | RK_BIT(RK_CAPS) | RK_BIT(RK_VACC))
/* Kinds on_word_rules acts on only before the health rules: context ends,
 * the last city, result word and lab marker. */
#define PRE_KINDS                                                                                  \
    (CTX_KINDS | RK_BIT(RK_CTX_BIRTH) | RK_BIT(RK_CITY) | RK_BIT(RK_RESULT) | RK_BIT(RK_LAB) |     \
     RK_BIT(RK_LABHEAD))

/* ------------------------------------------------------- health phrases */

/* A compound must keep at least this many letters before its head, so the
 * head alone ("Kolik") or a word that merely ends like one ("Hose", "lose")
 * is left to the forward dictionary. */
#define TAIL_MIN_PREFIX 3
#define TAIL_MIN_WORD 7   /* bytes; shorter words cannot hold prefix + head */
#define MOD_GAP 6         /* bytes between a modifier run and its finding: " 2 ", "-2-" */
#define LAY_WIN_BYTES 28  /* body part before a pain word: "knee really hurts" */
#define LAY_WORDS 3       /* words between a pain word and a body part after it */
#define POST_ROUNDS 3     /* complements after a finding: "Typ 2", "of the left knee" */

/* Kinds of the longest tail-list entry that ends the word [p, e), read
 * backwards through the reversed tail trie. 0 when there is none, when the
 * longest entry is a stop word ("Steckdose", "Abbruch"), or when fewer than
 * TAIL_MIN_PREFIX letters stand before the head. The walk is bounded by the
 * longest tail term, so it adds a constant per word. Its first two steps are
 * one look-up in tail_pair when the word ends in two ASCII letters or digits,
 * which also settles the walks that die there without a branch per step. */
static uint64_t tail_match(const scan *sc, size_t p, size_t e)
{
    const redact__tables *t = sc->tail;
    const redact__tr *tr = t->tr;
    const uint8_t *tcls = t->cls;
    redact__tr cur = tr[0]; /* the record of the state reached, as in dict_walk */
    uint64_t best = 0;
    size_t best_pos = e, i = e, depth = 0;
    if (e - p >= 2) {
        uint8_t a0 = ascii_fold[sc->s[e - 1]], b0 = ascii_fold[sc->s[e - 2]];
        if (a0 && b0) {
            const uint8_t *cls8 = sc->t->cls;
            uint32_t x = TAIL_PAIR(sc->pair, sc->pair_nc)[cls8[a0] * sc->pair_nc + cls8[b0]];
            if (!x)
                return 0;
            if (x != PAIR_SLOW) { /* no term ends after them: go on from there */
                /* the tail filter on the next two bytes (TAIL_FILT_BITS) */
                uint8_t c3 = e - p >= 4 ? ascii_fold[sc->s[e - 3]] : 0;
                uint8_t d4 = c3 ? ascii_fold[sc->s[e - 4]] : 0;
                if (d4) {
                    uint32_t fb = tail_filt_bit(x, c3, d4);
                    if (!(sc->tail_filt[fb / 64] >> (fb % 64) & 1))
                        return 0;
                }
                cur = tr[x];
                i = e - 2;
                depth = 2;
            }
        }
    }
    while (i > p && depth <= t->max_depth) {
        size_t j = i - 1, k;
        char f[2];
        unsigned char c0 = sc->s[j];
        uint8_t a = ascii_fold[c0];
        if (a) {
            /* ASCII letter or digit, most bytes: one step */
            if (!step_cur(tr, tcls, &cur, a))
                goto done;
            i = j;
            depth++;
            goto term;
        }
        if (c0 < 0x80) { /* not reached inside a word: letters and digits are above */
            f[0] = (char)((ascii_cls[c0] & RF_UPPER) ? c0 + 32 : c0);
            k = 1;
        } else {
            while (j > p && (sc->s[j] & 0xC0) == 0x80 && i - j < 4)
                j--;
            uint32_t cp;
            unsigned cls;
            size_t l = redact__utf8(sc->s, j, sc->n, &cp);
            if (j + l != i)
                return 0; /* invalid UTF-8 inside the word: no compound */
            k = redact__fold(cp, f, &cls);
        }
        i = j;
        if (k == 0)
            continue; /* combining mark */
        for (size_t q = k; q-- > 0;) {
            if (!step_cur(tr, tcls, &cur, (uint8_t)f[q]))
                goto done;
        }
        depth += k;
    term:;
        unsigned tm = cur.term;
        if (tm) {
            uint64_t kinds = sc->tail_lterms[tm];
            if (kinds) {
                best = kinds;
                best_pos = i;
            }
        }
    }
done:
    if (!best || (best & RK_BIT(RK_STOP)))
        return 0;
    size_t pre = 0;
    for (size_t q = p; q < best_pos && pre < TAIL_MIN_PREFIX; q++)
        if ((sc->s[q] & 0xC0) != 0x80)
            pre++;
    return pre >= TAIL_MIN_PREFIX ? best : 0;
}

/* True when [a, b) holds no clause boundary, so a body part and a pain word
 * on either side of it belong to the same complaint. */
static int same_clause(const scan *sc, size_t a, size_t b)
{
    const sepset bounds = SEPS(".,;:!?()\n\r");
    for (size_t i = a; i < b; i++)
        if (in_sepset(bounds, sc->s[i]))
            return 0;
    return 1;
}

/* Start of the hyphenated word whose last element starts at p: up to three
 * elements glued by single hyphens before it that no finding holds yet. */
static size_t hyphen_start(const scan *sc, size_t p)
{
    for (size_t b = 0; b < 3; b++) {
        const tok *pv = prev_tok(sc, b);
        if (!pv || pv->end + 1 != p || sc->s[pv->end] != '-')
            break;
        if (pv->start < sc->covered) {
            /* a health finding that ends at the hyphen ("torokváladék-"):
             * emit merges the two */
            const redact_finding *l = sc->cnt ? &sc->out[sc->cnt - 1] : NULL;
            if (l && l->end == pv->end && l->cat >= REDACT_CONDITION)
                p = l->start;
            break;
        }
        p = pv->start;
    }
    return p;
}

/* Start of a finding at s widened over the modifier/body run just before it
 * ("vascular dementia", "knee arthroscopy", "chronische Bronchitis", "type 2
 * diabetes", "2-es típusú cukorbetegség"). Only spaces, hyphens and a short
 * number may stand between the run and the finding. */
static size_t mod_start(const scan *sc, size_t s)
{
    if (sc->pre_end == NO_CTX || sc->pre_end > s || s - sc->pre_end > MOD_GAP ||
        sc->pre_start < sc->covered)
        return s;
    for (size_t i = sc->pre_end; i < s; i++)
        if (!is_space(sc->s[i]) && sc->s[i] != '-' && !is_digit(sc->s[i]))
            return s;
    size_t st = sc->pre_start;
    /* "2-es típusú": the number before the run */
    if (st >= 2 && (sc->s[st - 1] == '-' || sc->s[st - 1] == ' ') && is_digit(sc->s[st - 2])) {
        size_t b = st - 1, d = 0;
        while (b > 0 && is_digit(sc->s[b - 1]) && d < 2) {
            b--;
            d++;
        }
        if (b >= sc->covered)
            st = b;
    }
    return st;
}

/* End of a short number or Roman numeral right after e ("Typ 2", "stage
 * IV", "w stopniu 2"), or e. */
static size_t grade_after(const scan *sc, size_t e)
{
    size_t j = e;
    if (j < sc->n && (sc->s[j] == ' ' || sc->s[j] == '-'))
        j++;
    size_t d = 0;
    while (j + d < sc->n && d < 3 &&
           (is_digit(sc->s[j + d]) || sc->s[j + d] == 'I' || sc->s[j + d] == 'V'))
        d++;
    if (d == 0 || is_word_at(sc, j + d))
        return e;
    return j + d;
}

/* End of a body part reached from p over link and modifier words only
 * ("of the left knee", "im Rücken", "w klatce piersiowej"), or 0. */
static size_t body_after(const scan *sc, size_t p, int words)
{
    for (int r = 0; r < words; r++) {
        size_t ws = next_word_start(sc, p, 2, SEPS(" -"));
        dmatch m;
        if (ws == NO_CTX || !dict_match(sc, ws, &m))
            return 0;
        if (m.kinds & RK_BIT(RK_BODY))
            return m.end;
        if (!(m.kinds & (RK_BIT(RK_LINK) | RK_BIT(RK_MODPRE))))
            return 0;
        p = m.end;
    }
    return 0;
}

/* End of a finding at e widened over what belongs to it after it: a
 * complement (Polish genitive "Alzheimera", "typu 2", "Grad 3") and, with
 * link_body, a body part behind a link word ("pain in my left shoulder",
 * "Schmerzen im Rücken"). Without link_body the location stays out: in
 * "Arthrose im Knie" or "rash on her chest" the diagnosis alone carries it.
 * Polish puts body parts right after the noun ("zapalenie ucha"). */
static size_t mod_end(const scan *sc, size_t e, int link_body)
{
    for (int r = 0; r < POST_ROUNDS; r++) {
        size_t ws = next_word_start(sc, e, 2, SEPS(" -"));
        dmatch m;
        if (ws == NO_CTX || !dict_match(sc, ws, &m))
            break;
        if (m.kinds & RK_BIT(RK_MODPOST)) {
            e = grade_after(sc, m.end);
            continue;
        }
        if ((m.kinds & RK_BIT(RK_BODY)) &&
            (sc->lang == REDACT_LANG_PL || sc->lang == REDACT_LANG_AUTO)) {
            e = m.end;
            continue;
        }
        if (link_body && (m.kinds & RK_BIT(RK_LINK))) {
            size_t b = body_after(sc, m.end, 3);
            if (b) {
                e = b;
                continue;
            }
        }
        break;
    }
    return e;
}

static int word_in(const scan *sc, size_t i, size_t e, const char *const *words, size_t nw);

/* True when only link and modifier words (at most two words, same clause)
 * stand in [a, b): "on my", "am", "w lewym"; or one conjunction, since
 * coordinated body parts share the complaint after them ("feet and hands
 * have swelled up", "Knie und Hüfte tun weh"). */
static int body_link_between(const scan *sc, size_t a, size_t b)
{
    static const char *const conj[] = {"and", "und", "i", "oraz", "es", "meg"};
    if (b - a > 16 || !same_clause(sc, a, b))
        return 0;
    size_t i = a;
    int words = 0;
    for (;;) {
        tok w;
        dmatch m;
        if (!next_word(sc, i, 2, SEPS(" -"), &w) || w.start >= b)
            return words > 0 && i <= b;
        if (++words > 2)
            return 0;
        if (word_in(sc, w.start, w.end, conj, sizeof conj / sizeof conj[0]) ||
            (w.end - w.start == 3 && memcmp(sc->s + w.start, "\xc3\xa9s", 3) == 0)) { /* "és" */
            i = w.end;
            continue;
        }
        if (!dict_match(sc, w.start, &m) || !(m.kinds & (RK_BIT(RK_LINK) | RK_BIT(RK_MODPRE))) ||
            m.end > b)
            return 0;
        i = m.end;
    }
}

/* Body part after a pain word within LAY_WORDS words of the same clause,
 * whatever the words in between ("boli mnie brzuch", "fáj a hátam", "pain
 * in my shoulder"). Returns its end or 0, and remembers it as the last
 * body part. */
static size_t body_near_after(scan *sc, size_t p, int words)
{
    size_t i = p;
    for (int r = 0; r <= words; r++) {
        tok w;
        dmatch m;
        if (!next_word(sc, i, 2, SEPS(" -"), &w))
            return 0;
        if (dict_match(sc, w.start, &m) && (m.kinds & RK_BIT(RK_BODY))) {
            /* remembered for a pain word after it: "tut mir der Bauch weh" */
            sc->body_start = w.start;
            sc->body_end = m.end;
            return m.end;
        }
        i = w.end;
    }
    return 0;
}

/* Start of the body part (with its modifiers) shortly before a pain word at
 * p in the same clause ("my knee hurts", "das Knie tut weh"), or NO_CTX. */
static size_t body_near_before(const scan *sc, size_t p)
{
    if (sc->body_end == NO_CTX || sc->body_end > p || p - sc->body_end > LAY_WIN_BYTES ||
        !same_clause(sc, sc->body_end, p))
        return NO_CTX;
    /* the modifier run before the body word, unless the body phrase already
     * starts earlier ("scar on my left knee") */
    if (sc->pre_end == sc->body_end && sc->pre_start != NO_CTX && sc->pre_start < sc->body_start)
        return sc->pre_start;
    return sc->body_start;
}

/* A lay complaint around a pain/symptom word [ws, we): the body part before
 * or after it makes the whole stretch a CONDITION. Returns the end of the
 * emitted finding or 0 when no body part is near. */
static int body_pronoun_before(const scan *sc, size_t ws);
static size_t lay_phrase(scan *sc, size_t ws, size_t we)
{
    size_t b = body_near_before(sc, ws);
    size_t a = body_near_after(sc, we, LAY_WORDS);
    if (b == NO_CTX && !a) {
        /* "es ist blau und dick" after the body part: the complaint alone */
        if (!body_pronoun_before(sc, ws))
            return 0;
        emit(sc, ws, we, REDACT_CONDITION, R_HEALTH_LAY);
        return we;
    }
    size_t start = b != NO_CTX ? b : ws;
    size_t end = a ? mod_end(sc, a, 1) : we;
    emit(sc, start, end, REDACT_CONDITION, R_HEALTH_LAY);
    return end;
}

/* ------------------------------------- findings, examinations and states */

#define LAB_WORDS 6   /* words from a lab marker to its result: "cholesterol came back a bit high" */
#define RES_GAP 6     /* bytes from a result word to the marker after it: "magas a " */
#define STATE_WORDS 2 /* words from a state word to the body part after it: "véres a köpetem" */

/* True when the word at [i, e) is one of words (ASCII, lower case). */
static int word_in(const scan *sc, size_t i, size_t e, const char *const *words, size_t nw)
{
    for (size_t w = 0; w < nw; w++) { /* compared up to its NUL: no strlen per word */
        const char *x = words[w];
        size_t c = 0;
        while (i + c < e && x[c] && (sc->s[i + c] | 0x20) == (unsigned char)x[c])
            c++;
        if (i + c == e && !x[c])
            return 1;
    }
    return 0;
}

/* End of a plain number at i ("24", "7,5", "5.2"), or i. Dates and clock
 * times are not values: "12.03.2026", "12.03.", "8:30", "12. März"; neither
 * is a year ("seit 2019") nor a number glued to letters ("24h"). */
static size_t number_end(const scan *sc, size_t i)
{
    size_t j = i, d = 0;
    while (j < sc->n && is_digit(sc->s[j]) && d < 6) {
        j++;
        d++;
    }
    if (d == 0 || (j < sc->n && is_digit(sc->s[j])))
        return i;
    if (j + 1 < sc->n && (sc->s[j] == '.' || sc->s[j] == ',') && is_digit(sc->s[j + 1])) {
        size_t k = j + 1;
        while (k < sc->n && is_digit(sc->s[k]) && k - j <= 3)
            k++;
        if (k < sc->n && (sc->s[k] == '.' || sc->s[k] == ':' || sc->s[k] == '/') &&
            sc->s[j] == '.' && d <= 2 && k - j <= 3)
            return i; /* d.m. or d.m.y */
        j = k;
    } else if (d == 4 && (sc->s[i] == '1' || sc->s[i] == '2')) {
        return i; /* a year */
    } else if (j < sc->n && sc->s[j] == '.' && d <= 2) {
        tok w; /* "12. März", "3. 5." */
        if (next_word(sc, j + 1, 1, SEPS(" "), &w) &&
            ((w.cls & RF_DIGIT) || (word_kinds(sc, w.start, w.end) & RK_BIT(RK_MONTH))))
            return i;
    }
    if (j < sc->n && (sc->s[j] == ':' || is_word_at(sc, j)))
        return i;
    return j;
}

/* End of a measured value at i with its second part and unit ("170 zu 100",
 * "140/90", "150 na 90", "7,5 %", "24 mmol/l"), or 0. A clock time is an
 * appointment: "8:30" ends in number_end, "8 Uhr" and "9 am" here. */
static size_t value_at(const scan *sc, size_t i)
{
    /* joining words of a blood-pressure reading */
    static const char *const over[] = {"zu", "to", "over", "na", "per"};
    static const char *const clock[] = {"uhr", "am", "pm", "h", "godz", "ora", "orakor"};
    size_t e = number_end(sc, i);
    if (e == i)
        return 0;
    tok w;
    if (e + 1 < sc->n && sc->s[e] == '/' && is_digit(sc->s[e + 1])) {
        size_t e2 = number_end(sc, e + 1);
        if (e2 > e + 1)
            e = e2;
    } else if (next_word(sc, e, 1, SEPS(" "), &w) &&
               word_in(sc, w.start, w.end, over, sizeof over / sizeof over[0])) {
        tok v;
        if (next_word(sc, w.end, 1, SEPS(" "), &v) && (v.cls & RF_DIGIT)) {
            size_t e2 = number_end(sc, v.start);
            if (e2 > v.start)
                e = e2;
        }
    }
    if (e < sc->n && sc->s[e] == '%')
        return e + 1;
    if (e + 1 < sc->n && sc->s[e] == ' ' && sc->s[e + 1] == '%')
        return e + 2;
    if (next_word(sc, e, 1, SEPS(" "), &w)) {
        if (word_in(sc, w.start, w.end, clock, sizeof clock / sizeof clock[0]))
            return 0;
        dmatch m;
        if (dict_match(sc, w.start, &m) && (m.kinds & RK_BIT(RK_UNIT)))
            return m.end;
    }
    return e;
}

/* End of a value after a result at e, over at most one short word ("has
 * fallen to 24", "spadło do 9", "raised at 6.2"), or e. */
static size_t value_after(const scan *sc, size_t e)
{
    tok v;
    size_t q = e;
    if (next_word(sc, q, 1, SEPS(" "), &v) && !(v.cls & RF_DIGIT) && v.end - v.start <= 4)
        q = v.end;
    if (next_word(sc, q, 1, SEPS(" "), &v) && (v.cls & RF_DIGIT)) {
        size_t ve = value_at(sc, v.start);
        if (ve)
            return ve;
    }
    return e;
}

/* False when value_after(sc, e) is e for certain: its number starts at
 * most 7 bytes after e (a space, a word of up to 4 bytes, a space), and a
 * number token starts on an ASCII digit. A few loads instead of the two
 * next_word calls, and the walk on_word_rules makes before it. */
static int value_may_follow(const scan *sc, size_t e)
{
    size_t lim = sc->n - e < 7 ? sc->n : e + 7;
    for (size_t i = e; i < lim; i++)
        if (is_digit(sc->s[i]))
            return 1;
    return 0;
}

static size_t value_head_after(const scan *sc, size_t e);

/* A lab marker [ls, le) made a finding by its result (CONDITION over marker
 * through result, as the guideline's abnormal-findings rule asks): a result
 * word or a value within LAB_WORDS words of the same clause after it ("PSA
 * came back raised", "TSH ist zu niedrig", "Blutdruck liegt bei 170 zu 100",
 * "eGFR has fallen to 24"), or a result word just before it ("podwyższone
 * TSH", "magas a koleszterinem"). Another health word or lab marker ends the
 * search, so "Blutdruck trotz Candesartan 16 mg" stays two things. Returns the
 * end of the emitted finding or 0; without one the marker is remembered for an
 * examination after it ("INR-Kontrolle"). */
static size_t lab_phrase(scan *sc, size_t ls, size_t le)
{
    le = value_head_after(sc, le); /* "PSA-értéke", "TSH-Wert" */
    size_t start = ls, end = 0, i = le;
    if (sc->res_end != NO_CTX && sc->res_end <= ls && ls - sc->res_end <= RES_GAP &&
        sc->res_start >= sc->covered && same_clause(sc, sc->res_end, ls)) {
        start = sc->res_start;
        end = le;
    }
    sepset seps = SEPS(" -:="); /* "TSH: 5,8", "Kalium=6.1" */
    for (int r = 0; r < LAB_WORDS; r++) {
        tok w;
        if (!next_word(sc, i, 3, seps, &w))
            break;
        seps = SEPS(" -");
        if (w.cls & RF_DIGIT) {
            size_t v = value_at(sc, w.start);
            tok x;
            dmatch xm;
            /* "ist auf 8,1 gestiegen": a result word right after the value */
            if (v && next_word(sc, v, 1, SEPS(" "), &x) && dict_match(sc, x.start, &xm) &&
                (xm.kinds & RK_BIT(RK_RESULT)))
                v = xm.end;
            if (v)
                end = v;
            break;
        }
        dmatch m;
        if (dict_match(sc, w.start, &m)) {
            if (m.kinds & RK_BIT(RK_RESULT)) {
                end = value_after(sc, m.end);
                break;
            }
            /* the marker as the object of an exam right after it ("májfunkciós
             * vizsgálat"), another finding or marker: the search ends */
            if ((m.kinds & (HEALTH_KINDS | RK_BIT(RK_LAB))) || (r == 0 && (m.kinds & RK_BIT(RK_EXAM))))
                break;
        }
        i = w.end;
    }
    if (!end) {
        sc->lab_start = ls;
        sc->lab_end = le;
        return 0;
    }
    emit(sc, start, end, REDACT_CONDITION, R_HEALTH_FINDING);
    sc->res_end = sc->lab_end = sc->pre_end = NO_CTX;
    return end;
}

/* ----------------------------------------- vaccinations and their object */


/* Kinds of the word [p, e) as a term on its own, though a longer term
 * starts with it ("przeciwko" in "przeciwko grypie"): the walk of the text
 * cut at e. */
static uint64_t alone_kinds(const scan *sc, size_t p, size_t e)
{
    scan w = *sc;
    dmatch m;
    w.n = e;
    return dict_match(&w, p, &m) && m.end == e ? m.kinds : 0;
}

/* Words that may stand between a link and the object: an article or the
 * word "virus" ("against the flu", "gegen die Grippe", "przeciwko wirusowi
 * HPV"). */
static const char *const vacc_skip[] = {"the", "die", "den", "das", "virus", "wirusowi", "wirusa"};

/* End of a condition, pathogen or lab marker right after the link word
 * ending at e, with its complements ("typhoid", "Japanische Enzephalitis",
 * "hepatitis A"), or e when there is none. Polish and Hungarian objects may
 * be an inflected form of a listed term ("boreliozy", "kanyaró"). */
static uint64_t infl_match(const scan *sc, size_t p, size_t e, size_t min);
static size_t vacc_object(const scan *sc, size_t e)
{
    /* an article or "virus" may come first (vacc_skip) */
    const uint64_t obj = RK_BIT(RK_CONDITION) | RK_BIT(RK_PATHOGEN) | RK_BIT(RK_LAB);
    tok w;
    dmatch m;
    if (!next_word(sc, e, 2, SEPS(" "), &w))
        return e;
    if (word_in(sc, w.start, w.end, vacc_skip, sizeof vacc_skip / sizeof vacc_skip[0]) &&
        !next_word(sc, w.end, 2, SEPS(" "), &w))
        return e;
    if (dict_match(sc, w.start, &m))
        return (m.kinds & obj) ? mod_end(sc, m.end, 0) : e;
    if ((sc->langbits & (RL_PL | RL_HU)) && !(w.flags & TF_DIGIT) &&
        (infl_match(sc, w.start, w.end, 0) & obj))
        return mod_end(sc, w.end, 0);
    return e;
}

/* True when the word w is a link between a vaccination or test and its
 * object ("against", "gegen", "przeciwko", "w kierunku"); *end gets the
 * end of the link. */
static int vacc_link(const scan *sc, const tok *w, size_t *end)
{
    dmatch m;
    if (dict_match(sc, w->start, &m) && m.end >= w->end && (m.kinds & RK_BIT(RK_VLINK))) {
        *end = m.end;
        return 1;
    }
    *end = w->end;
    return (alone_kinds(sc, w->start, w->end) & RK_BIT(RK_VLINK)) != 0;
}

/* End of the object after a vaccination, test or injection ending at e: a
 * link word ("against", "gegen", "na", "przeciw") and a condition, pathogen
 * or lab marker, with its complements ("vaccine against typhoid",
 * "Impfung gegen Gürtelrose", "szczepionki na wściekliznę", "test oddechowy
 * na Helicobacter"). e itself when there is none. */
RARE_PATH static size_t vacc_object_after(const scan *sc, size_t e)
{
    tok w;
    dmatch m;
    size_t le;
    /* the link may already end the phrase: the modifier lists hold "gegen"
     * and "przeciw" as complements, so mod_end took them ("Impfung gegen") */
    size_t lw = e, le2 = e;
    while (lw > 0 && sc->s[lw - 1] != ' ')
        lw--;
    if (lw < e && word_in(sc, lw, e, vacc_skip, sizeof vacc_skip / sizeof vacc_skip[0]) &&
        lw > 1) { /* and "wirusowi" too: "Szczepienie przeciwko wirusowi" */
        le2 = lw - 1;
        for (lw = le2; lw > 0 && sc->s[lw - 1] != ' ';)
            lw--;
    }
    if (lw < le2 && (alone_kinds(sc, lw, le2) & RK_BIT(RK_VLINK)))
        return vacc_object(sc, e);
    if (!next_word(sc, e, 2, SEPS(" "), &w))
        return e;
    /* Polish puts the adjective after the noun: "test oddechowy na" */
    if ((sc->langbits & RL_PL) && !vacc_link(sc, &w, &le) &&
        !(dict_match(sc, w.start, &m) && m.end == w.end) && !next_word(sc, w.end, 2, SEPS(" "), &w))
        return e;
    if (!vacc_link(sc, &w, &le))
        return e;
    /* a listed phrase that starts with the link: "na grypę", "przeciwko grypie" */
    if (dict_match(sc, w.start, &m) && m.end > le &&
        (m.kinds & (RK_BIT(RK_CONDITION) | RK_BIT(RK_PATHOGEN))))
        return mod_end(sc, m.end, 0);
    size_t oe = vacc_object(sc, le);
    return oe > le ? oe : e;
}

/* Start of the object before a vaccination or test starting at ws: a
 * pathogen or condition just before it ("rabies jab", "hep B vaccination",
 * "FSME-Impfung"), or before a Hungarian postposition ("hastífusz elleni
 * oltást"). ws itself when there is none. */
RARE_PATH static size_t vacc_object_before(const scan *sc, size_t ws)
{
    size_t oe = sc->obj_end;
    if (oe == NO_CTX || oe > ws || ws - oe > 12)
        return ws;
    size_t i = oe;
    while (i < ws && (sc->s[i] == ' ' || sc->s[i] == '-'))
        i++;
    if (i < ws) { /* one postposition: "elleni" */
        tok w;
        dmatch m;
        if (!next_word(sc, i, 0, SEPS(""), &w) || !dict_match(sc, w.start, &m) || m.end != w.end ||
            !(m.kinds & RK_BIT(RK_VLINK)) || !(sc->langbits & RL_HU))
            return ws;
        i = w.end;
        while (i < ws && sc->s[i] == ' ')
            i++;
        if (i != ws)
            return ws;
    }
    return sc->obj_start;
}

/* An examination or injection word [ws, we) that says something about the
 * person only with its object: a body part or lab marker after it ("scan of
 * my knee", "Spritzen ins Auge", "badanie tarczycy", "badanie TSH") or just
 * before it ("INR-Kontrolle", "májfunkciós vizsgálat", "a pajzsmirigy
 * vizsgálata"); a test or injection (kinds has RK_VACC) also takes a
 * pathogen or condition after a link ("test na boreliozę", "Spritze gegen
 * Tetanus"), and any takes a pathogen just before it ("HPV-Test", "flu
 * test"). Returns the end of the emitted TREATMENT or 0. */
static size_t exam_phrase(scan *sc, size_t ws, size_t we, uint64_t kinds)
{
    size_t start = mod_start(sc, ws), end = mod_end(sc, we, 1);
    /* a modifier alone is no object: "full scan", "minor test" */
    if (start < ws && !(sc->body_end != NO_CTX && sc->body_start >= start && sc->body_end <= ws))
        start = ws;
    /* a hyphen compound names its object in the first element ("H2-Atemtest",
     * "torokváladék-vizsgálatot", "HPV-Test"): the first element is a
     * health word, a body part or marker, a code with digits or an acronym;
     * not an ordinary word ("Kontroll-Untersuchung", "double-check") */
    size_t hs = hyphen_start(sc, ws);
    if (hs < ws && ws - hs >= 3) {
        const tok *pv = prev_tok(sc, 0);
        uint64_t pk = word_kinds(sc, pv->start, pv->end);
        int named = (pk & (HEALTH_KINDS | RK_BIT(RK_LAB) | RK_BIT(RK_BODY))) ||
                    (pv->flags & TF_DIGIT) ||
                    (pv->end - pv->start >= 2 && is_upper_ascii(sc->s[pv->start]) &&
                     is_upper_ascii(sc->s[pv->start + 1]));
        if (named && !(pk & (RK_BIT(RK_EXAM) | RK_BIT(RK_STOP))) && hs < start)
            start = hs;
    }
    /* the marker may itself be a finding already ("INR" as a test): emit
     * merges the two */
    if (sc->lab_end != NO_CTX && sc->lab_end <= ws && ws - sc->lab_end <= RES_GAP &&
        same_clause(sc, sc->lab_end, ws))
        start = sc->lab_start;
    tok w;
    dmatch m;
    if (end == we && next_word(sc, we, 2, SEPS(" -"), &w) && dict_match(sc, w.start, &m) &&
        (m.kinds & RK_BIT(RK_LAB)))
        end = m.end;
    if (end == we && (kinds & RK_BIT(RK_VACC))) /* "test na Helicobacter" */
        end = vacc_object_after(sc, we);
    size_t ob = vacc_object_before(sc, ws);
    if (ob < start)
        start = ob;
    if (start == ws && end == we)
        return 0;
    emit(sc, start, end, REDACT_TREATMENT, R_HEALTH_EXAM);
    sc->pre_end = sc->lab_end = NO_CTX;
    return end;
}

/* A state predicate [ws, we) on a body part or skin finding in the same
 * clause: the subject before it ("wound is oozing", "der Zahn darunter ist
 * empfindlich", "sebe nem gyógyul", "oko mi łzawi") or, in verb-first and
 * adjective-first order, within STATE_WORDS words after it ("bleeding gums",
 * "véres a köpetem", "pattanásos az arca"). Without a body word nothing fires:
 * "the door is stuck". Returns the end of the emitted CONDITION or 0. */
#define BODY_PRONOUN_GAP 64 /* bytes from a body part to a pronoun standing for it */
#define STATE_PRONOUN_GAP 28 /* bytes from the pronoun to the state: "es ist seit gestern ganz " */

/* True when a pronoun and a copula ("er ist", "es ist ganz", "it is", "they
 * are") stand shortly before ws in its clause and a body part was named
 * shortly before the pronoun, in this clause or the one before: the pronoun
 * stands for the body part ("der Knöchel tut weh und er ist ganz
 * geschwollen", "hurt my wrist, it is swollen"), as it does after a
 * complaint ("Sprunggelenk verknackst, es ist blau"). */
RARE_PATH static int body_pronoun_before(const scan *sc, size_t ws)
{
    static const char *const pron[] = {"er", "sie", "es", "it", "they"};
    static const char *const cop[] = {"ist", "sind", "war", "wird", "is", "are", "was", "looks"};
    /* the body part, or a complaint naming one ("Sprunggelenk verknackst") */
    size_t ant = sc->body_end;
    if (sc->cnt > 0 && sc->out[sc->cnt - 1].cat == REDACT_CONDITION &&
        (ant == NO_CTX || sc->out[sc->cnt - 1].end > ant))
        ant = sc->out[sc->cnt - 1].end;
    if (ant == NO_CTX)
        return 0;
    for (size_t back = 1; back < 4; back++) {
        const tok *p = prev_tok(sc, back), *c = prev_tok(sc, back - 1);
        if (!p || !c)
            return 0;
        if (c->start > ws || (c->end > ws && c->start != ws)) /* the state word itself */
            continue;
        if (ws - p->start > STATE_PRONOUN_GAP)
            return 0;
        if (c->start == p->end + 1 && word_in(sc, p->start, p->end, pron, 5) &&
            word_in(sc, c->start, c->end, cop, 8))
            return ant <= p->start && p->start - ant <= BODY_PRONOUN_GAP &&
                   same_clause(sc, p->start, ws);
    }
    return 0;
}

static size_t state_phrase(scan *sc, size_t ws, size_t we)
{
    size_t b = body_near_before(sc, ws);
    size_t a = b == NO_CTX ? body_near_after(sc, we, STATE_WORDS) : 0;
    if (b == NO_CTX && !a) {
        /* the state alone, as the guideline labels it */
        if (!body_pronoun_before(sc, ws))
            return 0;
        emit(sc, ws, we, REDACT_CONDITION, R_HEALTH_STATE);
        sc->pre_end = NO_CTX;
        return we;
    }
    size_t start = b != NO_CTX ? b : ws, end = a ? a : we;
    emit(sc, start, end, REDACT_CONDITION, R_HEALTH_STATE);
    sc->pre_end = NO_CTX;
    return end;
}

/* ------------------------------------------------------ person states */

#define PSTATE_GAP 28  /* bytes from a copula to its state: "bin seit Tagen total " */
#define PERSON_GAP 48  /* bytes from a name or kin word to a copula with any subject */

/* A copula [ws, we) with any subject ("is", "wird", "jest", "volt") has a
 * person subject when a kinship word or a name stands shortly before it in
 * the same clause ("Mąż po udarze jest", "my husband has been"). */
__attribute__((noinline)) static int person_subject(const scan *sc, size_t ws)
{
    size_t k = sc->kin_end, pe = sc->person_end;
    if ((k != NO_CTX && k <= ws && ws - k <= PERSON_GAP && same_clause(sc, k, ws)) ||
        (pe != NO_CTX && pe <= ws && ws - pe <= PERSON_GAP && same_clause(sc, pe, ws)))
        return 1;
    /* A copula after "and" shares the subject of the clause before it, and
     * a clause that has just named a condition is about a person: "Sie hat
     * seit gestern Durchfall und ist sehr schwach", "has COPD and is weak". */
    static const char *const conj[] = {"und", "and", "i", "oraz"};
    const tok *p = prev_tok(sc, 0);
    if (!p || p->end > ws || ws - p->end > 2 || sc->cnt == 0)
        return 0;
    /* the finding first: two compares, where the word list is a loop (most
     * copulas follow no condition) */
    const redact_finding *f = &sc->out[sc->cnt - 1];
    return f->cat == REDACT_CONDITION && f->end <= p->start && p->start - f->end <= 2 &&
           word_in(sc, p->start, p->end, conj, sizeof conj / sizeof conj[0]);
}

/* True when the word after e makes a state adjective ordinary: a complement
 * ("tired of waiting", "müde vom Warten", "zmęczona czekaniem", "gyenge a
 * wifi"). */
static int pstate_complement(const scan *sc, size_t e)
{
    tok w;
    dmatch m;
    if (!next_word(sc, e, 2, SEPS(" "), &w))
        return 0;
    if (dict_match(sc, w.start, &m) && m.end == w.end && (m.kinds & RK_BIT(RK_PCOMP)))
        return 1;
    /* Polish verbal nouns in the instrumental: "czekaniem", "szukaniem" */
    if ((sc->langbits & RL_PL) && w.end - w.start > 6 &&
        (memcmp(sc->s + w.end - 4, "niem", 4) == 0 || memcmp(sc->s + w.end - 4, "ciem", 4) == 0))
        return 1;
    return 0;
}

/* True when the condition [s, e) ends in a person-state adjective with a
 * complement after it: a listed phrase ("jestem zmęczona", "I'm tired") used
 * in the ordinary sense ("jestem zmęczona czekaniem", "I'm tired of
 * waiting") is no finding. [s, w) is one word (no space in it), so the last
 * word's start is looked for only in [w, e): most conditions are one word
 * (w == e), and a byte loop over it mispredicted its exit. */
static int pstate_ordinary(const scan *sc, size_t s, size_t w, size_t e)
{
    size_t lw = e;
    while (lw > w && sc->s[lw - 1] != ' ')
        lw--;
    if (lw == w) /* one word: its kinds are the scan's walk, in the memo */
        return (word_kinds(sc, s, e) & RK_BIT(RK_PSTATE)) && pstate_complement(sc, e);
    /* A phrase's last word would be walked on its own (about 670 walks per
     * 200 kB); the word after the phrase, which pstate_complement walks, is
     * walked by mod_end right after anyway, so that test goes first. */
    return pstate_complement(sc, e) && (word_kinds(sc, lw, e) & RK_BIT(RK_PSTATE));
}

/* A person-state adjective [ws, we) ("exhausted", "erschöpft", "osłabiona",
 * "zavartabb") is a CONDITION when a copula or feel/get verb with a person
 * subject stands shortly before it in the same clause ("I'm exhausted", "er
 * wird immer blasser", "jest ciągle osłabiony", "egyre zavartabb") or right
 * after it ("kimerült vagyok"), and no complement follows. The guideline's
 * span is the adjective alone. Returns its end or 0. */
static size_t pstate_phrase(scan *sc, size_t ws, size_t we)
{
    size_t v = sc->pverb_end;
    int before = v != NO_CTX && v <= ws && ws - v <= PSTATE_GAP && same_clause(sc, v, ws);
    int after = 0;
    if (!before) {
        tok w;
        dmatch m;
        if (next_word(sc, we, 2, SEPS(" "), &w) && dict_match(sc, w.start, &m) &&
            ((m.kinds & RK_BIT(RK_PVERB)) ||
             ((m.kinds & RK_BIT(RK_PVERBW)) && person_subject(sc, ws)))) {
            after = 1;
            if (pstate_complement(sc, m.end))
                return 0;
        }
    }
    if ((!before && !after) || pstate_complement(sc, we))
        return 0;
    emit(sc, ws, we, REDACT_CONDITION, R_HEALTH_PSTATE);
    sc->pverb_end = we; /* "osłabiony i senny": the next state shares the copula */
    sc->pre_end = NO_CTX;
    return we;
}

/* ------------------------------------------------ inflection (hu, pl) */

/* Hungarian and Polish inflect every noun, and the lists cannot hold every
 * form of every term. A word that is no term at all is folded, walked once
 * through the automaton (recording the state after each byte), and its
 * ending is taken apart into candidate lemmas: Hungarian case, possessive
 * and plural suffixes peeled in up to INFL_DEPTH rounds (lítiumot → lítium,
 * vashiányom → vashiány, allergiájára → allergia, zavarral → zavar), Polish
 * case endings replaced by the lemma's ending (jaskrę → jaskra, udarze →
 * udar, grypie → grypa). Folding drops the length marks, so the lengthened
 * stem vowel (asztmát → asztma) needs no rule of its own. A candidate counts
 * only when it is a whole listed health term of at least INFL_MIN_STEM bytes
 * in the message's language; a stem the walk never reached costs nothing,
 * so most words end after their first few bytes. Bounded: INFL_MAX folded
 * bytes, INFL_CAND candidates, one walk plus one or two steps each. */
#define INFL_MAX 48
#define INFL_MIN_STEM 5
#define INFL_DEPTH 3
#define INFL_CAND 24

/* Hungarian suffixes as written (lower case, with their accents: the
 * length marks tell "kanyar|ok" from "kanyaró" and "górcső|n" from "görcs|ön"
 * once folded), with their slot: 3 case, 2 possessive or plural, 1 the "-s"
 * adjective of a disease ("asztmás", "COPD-s"). Peeled from the word end,
 * each slot at most once and in that order. */
#define HS(s, slot) {s, sizeof s - 1, slot}
static const struct {
    const char *suf;
    unsigned char len, slot;
} hu_suffixes[] = {
    HS("t", 3), HS("at", 3), HS("ot", 3), HS("et", 3), HS("öt", 3), HS("ban", 3), HS("ben", 3),
    HS("ba", 3), HS("be", 3), HS("ból", 3), HS("ből", 3), HS("ról", 3), HS("ről", 3), HS("tól", 3),
    HS("től", 3), HS("ra", 3), HS("re", 3), HS("on", 3), HS("en", 3), HS("ön", 3), HS("n", 3),
    HS("nak", 3), HS("nek", 3), HS("val", 3), HS("vel", 3), HS("hoz", 3), HS("hez", 3),
    HS("höz", 3), HS("nál", 3), HS("nél", 3), HS("ig", 3), HS("ért", 3), HS("ként", 3),
    HS("vá", 3), HS("vé", 3), HS("m", 2), HS("am", 2), HS("om", 2), HS("em", 2), HS("öm", 2),
    HS("d", 2), HS("ad", 2), HS("od", 2), HS("ed", 2), HS("öd", 2), HS("a", 2), HS("e", 2),
    HS("ja", 2), HS("je", 2), HS("i", 2), HS("ai", 2), HS("ei", 2), HS("jai", 2), HS("jei", 2),
    HS("im", 2), HS("aim", 2), HS("eim", 2), HS("jaim", 2), HS("jeim", 2), HS("unk", 2),
    HS("ünk", 2), HS("ink", 2), HS("uk", 2), HS("ük", 2), HS("juk", 2), HS("jük", 2), HS("k", 2),
    HS("ak", 2), HS("ok", 2), HS("ek", 2), HS("ök", 2), HS("s", 1), HS("as", 1), HS("os", 1),
    HS("es", 1), HS("ös", 1)};
#undef HS

/* Polish: the endings are in redact_tables.h (redact__pl_endings), shared
 * with the generator's RT_INFL marks. */
_Static_assert(REDACT__N_PL_ENDINGS <= 64, "pl_last holds one bit per ending");

static void infl_init(redact_engine *e)
{
    for (size_t k = 0; k < REDACT__N_PL_ENDINGS; k++) {
        const char *suf = redact__pl_endings[k].suf;
        e->pl_last[(unsigned char)suf[redact__pl_endings[k].len - 1]] |= 1ull << k;
    }
}

/* Health kinds of the term that ends at automaton state node (0: none). */
static uint64_t infl_term(const scan *sc, uint32_t node)
{
    if (!node || !sc->t->tr[node].term)
        return 0;
    uint64_t ex = sc->lterms[sc->t->tr[node].term].exact;
    /* not medication: brand names take their case endings in dict_walk, and
     * many are ordinary words with other endings ("Moderna" → "modernie") */
    return (ex & RK_BIT(RK_STOP)) ? 0 : ex & REDACT__INFL_KINDS;
}


/* Folds [p, e) into f (at most INFL_MAX bytes); returns the length, or 0
 * when the word is too long or holds a character that does not fold to a
 * letter. A '-' becomes ' ', as in the dictionary ("Alzheimer-kórban"). */
static size_t infl_fold(const scan *sc, size_t p, size_t e, char *f, size_t *src)
{
    size_t n = 0;
    src[0] = p;
    for (size_t i = p; i < e;) {
        unsigned char c = sc->s[i];
        if (c < 0x80) { /* most bytes: one folded byte, no bookkeeping */
            char a = (char)(c == '-' ? ' ' : ascii_fold[c]);
            if (!a || n == INFL_MAX)
                return 0;
            f[n++] = a;
            src[n] = ++i;
            continue;
        }
        char g[2];
        uint32_t cp;
        unsigned cls;
        size_t l = redact__utf8(sc->s, i, sc->n, &cp);
        size_t k = redact__fold(cp, g, &cls);
        if (!(cls & RF_WORD))
            return 0;
        if (n + k > INFL_MAX)
            return 0;
        memcpy(f + n, g, k);
        n += k;
        i += l;
        if (k == 2)
            src[n - 1] = 0; /* inside one character ("ß" → "ss"): no boundary */
        if (k)
            src[n] = i;
    }
    return n;
}

/* True when the text [w, w + len) ends with suf (lower case) in any case of
 * its ASCII letters. */
static int lower_ends(const unsigned char *w, size_t len, const char *suf, size_t sl)
{
    if (sl >= len)
        return 0;
    for (size_t i = 0; i < sl; i++) {
        unsigned char c = w[len - sl + i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (c != (unsigned char)suf[i])
            return 0;
    }
    return 1;
}

/* Kinds of the Hungarian stem [p, p + rlen) when it is a listed term: it
 * must end on a folded character boundary the walk reached, keep min
 * folded bytes, and not end in a short vowel, since a stem vowel before a
 * suffix is long ("asztmá|t"); a short one belongs to the suffix or to
 * another word ("kanyaro|k" is not "kanyaró"). */
static uint64_t infl_stem(const scan *sc, size_t p, size_t rlen, const size_t *src,
                          const uint32_t *node, size_t reach, size_t min)
{
    size_t d = min;
    while (d <= reach && src[d] < p + rlen)
        d++;
    if (d > reach || src[d] != p + rlen)
        return 0;
    unsigned char c = sc->s[p + rlen - 1];
    if (c < 0x80) {
        if (strchr("aeiouAEIOU", c))
            return 0;
    } else if (rlen >= 2 && sc->s[p + rlen - 2] == 0xC3 &&
               (c == 0xB6 || c == 0xBC || c == 0x96 || c == 0x9C)) /* ö ü Ö Ü */
        return 0;
    return infl_term(sc, node[d]);
}

/* Health kinds of a lemma of the word [p, e) (p may be the start of the
 * word before a hyphen), 0 when no candidate is a listed term. min is the
 * shortest stem in folded bytes. */
static uint64_t infl_match(const scan *sc, size_t p, size_t e, size_t min)
{
    char f[INFL_MAX];
    uint32_t node[INFL_MAX + 1];
    size_t src[INFL_MAX + 1]; /* src[d]: text offset after d folded bytes */
    size_t n = infl_fold(sc, p, e, f, src);
    if (min == 0) { /* a hyphen compound: the stem reaches past the hyphen */
        const char *sp = memchr(f, ' ', n);
        if (!sp)
            return 0;
        min = (size_t)(sp - f) + 2;
    }
    if (n <= min)
        return 0;
    /* one walk: node[d] is the state after d bytes; reach is how far it got */
    size_t reach = 0;
    node[0] = 0;
    for (size_t d = 0; d < n; d++) {
        uint32_t x = step(sc->t, node[d], (uint8_t)f[d]);
        if (!x)
            break;
        node[d + 1] = x;
        reach = d + 1;
    }
    if (reach < min)
        return 0;
    /* A Hungarian candidate counts only as a listed term the walk passed
     * through (infl_stem), and most words pass none: then none can match,
     * and the candidates need not be made. Exact, and it keeps this step,
     * which runs on every unlisted word, from costing more than the walk. */
    int hu_stem = 0;
    for (size_t d = min; d <= reach && !hu_stem; d++)
        hu_stem = src[d] && infl_term(sc, node[d]);
    if (hu_stem && (sc->langbits & RL_HU)) {
        /* candidates as raw byte lengths of the word, with the slot peeled last */
        size_t cand[INFL_CAND], rlen = e - p;
        int cslot[INFL_CAND];
        size_t nc = 1;
        cand[0] = rlen;
        cslot[0] = 4;
        for (size_t c = 0; c < nc; c++) {
            size_t len = cand[c];
            for (size_t k = 0; k < sizeof hu_suffixes / sizeof hu_suffixes[0]; k++) {
                size_t sl = hu_suffixes[k].len;
                if (hu_suffixes[k].slot >= cslot[c] || sl >= len ||
                    !lower_ends(sc->s + p, len, hu_suffixes[k].suf, sl))
                    continue;
                uint64_t kinds = infl_stem(sc, p, len - sl, src, node, reach, min);
                if (kinds)
                    return kinds;
                if (nc < INFL_CAND) {
                    cand[nc] = len - sl;
                    cslot[nc++] = hu_suffixes[k].slot;
                }
            }
            /* "-val/-vel" assimilated to a doubled consonant: zavar|ral */
            if (cslot[c] == 4 && len >= 4 &&
                (lower_ends(sc->s + p, len, "al", 2) || lower_ends(sc->s + p, len, "el", 2)) &&
                sc->s[p + len - 3] == sc->s[p + len - 4] && !strchr("aeiou", sc->s[p + len - 3])) {
                uint64_t kinds = infl_stem(sc, p, len - 3, src, node, reach, min);
                if (kinds)
                    return kinds;
            }
        }
    }
    if (sc->langbits & RL_PL) {
        /* verbal nouns ("toczenie", "zabieganie") are no case forms */
        int gerund = ends_with(f, n, "anie", 4) || ends_with(f, n, "enie", 4);
        /* in table order, as a loop over all of them would go */
        for (uint64_t mk = sc->pl_last[(unsigned char)f[n - 1]]; mk; mk &= mk - 1) {
            size_t k = (size_t)__builtin_ctzll(mk), sl = redact__pl_endings[k].len;
            const char *suf = redact__pl_endings[k].suf;
            if (!ends_with(f, n, suf, sl) || (gerund && suf[0] == 'i'))
                continue;
            size_t stem = n - sl;
            if (stem > reach)
                continue;
            uint32_t x = node[stem];
            for (const char *r = redact__pl_endings[k].repl; *r && x; r++)
                x = step(sc->t, x, (uint8_t)*r);
            if (stem + redact__pl_endings[k].rlen >= min && infl_term(sc, x))
                return infl_term(sc, x);
        }
    }
    return 0;
}

/* True when [s, e) is a value word that makes the acronym before it a lab
 * marker ("Werte", "Spiegel", "levels", "szintje", "értéke"); the first
 * letter in either case. */
static int value_head(const scan *sc, size_t s, size_t e)
{
    static const char *const heads[] = {"wert",   "werte",  "wertes", "werten", "spiegel",
                                        "level",  "levels", "szint",  "szintje", "szintem",
                                        "\xc3\xa9rt\xc3\xa9ke", "\xc3\xa9rt\xc3\xa9kei",
                                        "\xc3\xa9rt\xc3\xa9kem"};
    size_t n = e - s;
    for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++) {
        size_t l = strlen(heads[h]), c = 0;
        if (l != n)
            continue;
        while (c < l && (unsigned char)(c == 0 && is_upper_ascii(sc->s[s]) ? sc->s[s] | 0x20
                                                                          : sc->s[s + c]) ==
                            (unsigned char)heads[h][c])
            c++;
        if (c == l)
            return 1;
    }
    return 0;
}

/* End of "-<value word>" right after a lab marker ending at e ("PSA-értéke",
 * "TSH-Wert"), or e. */
RARE_PATH static size_t value_head_after(const scan *sc, size_t e)
{
    if (e + 1 >= sc->n || sc->s[e] != '-')
        return e;
    size_t we = word_end(sc, e + 1);
    return we > e + 1 && value_head(sc, e + 1, we) ? we : e;
}

/* Start of an acronym (two to six capital letters, not a listed term)
 * right before the value word t of kinds k ("AMH-Werte", "AMH levels",
 * "AMH-szintje"): an unlisted lab marker. NO_CTX when there is none or when
 * the value word is part of a health term. */
RARE_PATH static size_t acronym_value(const scan *sc, const tok *t, uint64_t k)
{
    const tok *p = prev_tok(sc, 0);
    if (k & HEALTH_KINDS)
        return NO_CTX;
    if (!p || p->end + 1 != t->start || p->end - p->start < 2 || p->end - p->start > 6 ||
        (sc->s[p->end] != '-' && sc->s[p->end] != ' ') || p->kinds)
        return NO_CTX;
    for (size_t i = p->start; i < p->end; i++)
        if (!is_upper_ascii(sc->s[i]))
            return NO_CTX;
    return value_head(sc, t->start, t->end) ? p->start : NO_CTX;
}

/* True when [s, e) holds a lower-case letter (ASCII or any other cased
 * letter: "als", "Zum", "tavi", "úti"). */
RARE_PATH static int has_lower(const scan *sc, size_t s, size_t e)
{
    for (size_t i = s; i < e;) {
        size_t l;
        unsigned c = cls_at(sc, i, &l);
        if ((c & RF_ALPHA) && !(c & RF_UPPER))
            return 1;
        i += l ? l : 1;
    }
    return 0;
}

/* The rules for a capitalised word that is no listed term (after the
 * compound and inflection lookups): a Hungarian name, a name pair at the
 * start of a line, a street compound with its number. */
static size_t on_unlisted_cap(scan *sc, tok *t)
{
    /* Each rule's first test is repeated here, so that most words skip its
     * call: hu_case_name wants a name word before, street_compound six bytes
     * (see there). */
    if (sc->lang == REDACT_LANG_HU || sc->lang == REDACT_LANG_AUTO) {
        size_t e = hu_ne_name(sc, t);
        if (!e && prev_is_name_word(sc, prev_tok(sc, 0), t->start))
            e = hu_case_name(sc, t);
        if (e)
            return e;
    }
    {
        size_t e = name_pair_at_line_start(sc, t);
        if (e)
            return e;
    }
    {
        size_t after;
        if (t->end - t->start >= 6 && street_compound(sc, t, &after)) {
            size_t hn = house_number(sc, after);
            if (hn) {
                size_t start = t->start;
                const tok *p = prev_tok(sc, 0); /* "Karl-Marx-Straße", "Berliner Str." */
                for (size_t b = 0; b < 2 && p; b++) {
                    if (!(p->flags & TF_CAP) || p->start < sc->covered || p->end + 1 != start ||
                        sc->s[p->end] != '-')
                        break;
                    start = p->start;
                    p = prev_tok(sc, b + 1);
                }
                /* "Offenbacher Landstraße 12", "Alte Poststraße 3": an
                 * adjective before the compound */
                if (start == t->start && p && (p->flags & TF_CAP) && !(p->flags & TF_DIGIT) &&
                    !p->kinds && p->start >= sc->covered && p->end + 1 == start &&
                    sc->s[p->end] == ' ' && p->end - p->start >= 4 &&
                    ((sc->s[p->end - 2] == 'e' && sc->s[p->end - 1] == 'r') ||
                     sc->s[p->end - 1] == 'e'))
                    start = p->start;
                emit(sc, start, hn, REDACT_ADDRESS, R_ADDR_STREET);
                sc->street_end = hn;
                return hn;
            }
        }
    }
    return t->end;
}

/* Whether the word t (not after a hyphen) can have an inflected form,
 * judged from where its dictionary walk stopped; an exact shortcut, since
 * most unlisted words fail it. A candidate needs more than INFL_MIN_STEM
 * folded bytes (a word folds to at most its byte count), and infl_match's
 * walk must reach INFL_MIN_STEM of them. That walk steps the same folded
 * bytes from the root as dict_walk did, and dict_walk stops inside a word
 * only where an edge is missing. When the first INFL_MIN_STEM bytes are
 * ASCII (one folded byte each), it reached them iff it stopped at or after
 * them; otherwise the character at the stop may have stepped its first
 * folded byte, so one byte of slack. And every lemma infl_match can find is
 * a term at (Hungarian) or one replacement after (Polish) a state of that
 * walk at least three bytes deep, which dict_walk passed too and or-ed into
 * stop.infl (RT_INFL, redact_tables.h): most words that get this far pass
 * none (about 15 of 16 in the labelled texts). */
static inline int infl_reachable(const scan *sc, const tok *t, dstop stop)
{
    _Static_assert(INFL_MIN_STEM == 5, "the ASCII test reads INFL_MIN_STEM bytes");
    if (t->end - t->start <= INFL_MIN_STEM || !stop.infl)
        return 0;
    size_t wstop = stop.at < t->end ? stop.at : t->end;
    const unsigned char *w = sc->s + t->start;
    size_t slack = (w[0] | w[1] | w[2] | w[3] | w[4]) >= 0x80;
    return wstop + slack >= t->start + INFL_MIN_STEM;
}

/* The rules for a word the fast path in on_word cannot settle. Not inlined:
 * it is large, and most words never get here. */
__attribute__((noinline)) static size_t on_word_rules(scan *sc, tok *t, int hit, dmatch m,
                                                      dstop stop)
{
    uint64_t k = hit ? m.kinds : 0;
    size_t mend = hit ? m.end : t->end;
    t->kinds = (hit && m.end == t->end) ? k : (hit ? RK_BIT(RK_STOP) : 0);
    uint16_t tail_rule = 0;

    if (k & PRE_KINDS) { /* one test for all of them: every word passes here */
        /* Only the set bits: a loop over all kinds cost a sixth of the scan time. */
        for (uint64_t ck = k & CTX_KINDS; ck; ck &= ck - 1)
            sc->ctx[__builtin_ctzll(ck)] = mend;
        if (k & RK_BIT(RK_CTX_BIRTH))
            person_before_birth(sc, t->start);
        if (k & RK_BIT(RK_CITY)) { /* for "Leeds LS6 2QN" */
            sc->city_start = t->start;
            sc->city_end = mend;
        }
        if (k & RK_BIT(RK_RESULT)) { /* for a marker after it: "podwyższone TSH" */
            sc->res_start = t->start;
            sc->res_end = mend;
        }
        if (k & (RK_BIT(RK_LAB) | RK_BIT(RK_LABHEAD))) {
            size_t ls = (k & RK_BIT(RK_LAB)) ? t->start : acronym_value(sc, t, k);
            size_t e = ls != NO_CTX ? lab_phrase(sc, ls, (k & RK_BIT(RK_LAB)) ? mend : t->end) : 0;
            if (e)
                return e;
        }
    }

    /* A compound or a suffix the lists do not hold as a whole word
     * ("Nierenkoliken", "prosztatarákkal", "tonsillectomy"). */
    if (!(k & (HEALTH_KINDS | RK_BIT(RK_FIRSTNAME))) && mend <= t->end &&
        t->end - t->start >= TAIL_MIN_WORD && !(t->flags & TF_DIGIT)) {
        uint64_t tk = tail_match(sc, t->start, t->end);
        if (tk & HEALTH_KINDS) {
            k = tk;
            mend = t->end;
            tail_rule = R_HEALTH_TAIL;
        }
    }
    /* An inflected Hungarian or Polish form of a listed term ("lítiumot",
     * "jaskrę"); after a hyphen, the whole compound first ("Alzheimer-kórban") */
    if (!hit && !(k & HEALTH_KINDS) && (sc->langbits & (RL_PL | RL_HU)) && !(t->flags & TF_DIGIT) &&
        !((t->flags & TF_CAP) && !sentence_start(sc, t->start))) { /* not a proper name: "Rákoson" */
        const tok *pv = prev_tok(sc, 0);
        uint64_t ik = 0;
        if (pv && pv->end + 1 == t->start && sc->s[pv->end] == '-' && pv->start >= sc->covered)
            ik = infl_match(sc, pv->start, t->end, 0);
        if (!ik && infl_reachable(sc, t, stop))
            ik = infl_match(sc, t->start, t->end, INFL_MIN_STEM);
        if (ik & HEALTH_KINDS) {
            k = ik;
            mend = t->end;
            tail_rule = R_HEALTH_INFL;
        } else
            k |= ik; /* an examination noun: "vizsgálatot", "badaniem" */
    }
    /* No kinds (no word of the lists, no compound, no inflected form): only
     * the rules for unlisted capitalised words are left. */
    if (!k)
        return (t->flags & TF_CAP) ? on_unlisted_cap(sc, t) : t->end;

    /* An acronym whose lower-case form is an ordinary word in one of the
     * languages ("ALS" and German "als", "PET" and "pet", "TAVI" and
     * Hungarian "tavi") names the condition or treatment only in capitals. */
    if ((k & HEALTH_KINDS) && !((k & RK_BIT(RK_CAPS)) && has_lower(sc, t->start, mend))) {
        redact_category cat = (k & RK_BIT(RK_CONDITION))    ? REDACT_CONDITION
                              : (k & RK_BIT(RK_MEDICATION)) ? REDACT_MEDICATION
                                                            : REDACT_TREATMENT;
        uint16_t rule = tail_rule                  ? tail_rule
                        : cat == REDACT_CONDITION  ? R_DICT_CONDITION
                        : cat == REDACT_MEDICATION ? R_DICT_MEDICATION
                                                   : R_DICT_TREATMENT;
        size_t start = t->start, e;
        if (cat == REDACT_CONDITION && pstate_ordinary(sc, t->start, t->end < mend ? t->end : mend, mend))
            return mend;
        if (cat == REDACT_MEDICATION) {
            /* "Nurofen-Saft", "Metronidazol-Gel": a compound on a drug name is
             * the drug in a form */
            if (mend + 1 < sc->n && sc->s[mend] == '-' && (cls_at(sc, mend + 1, NULL) & RF_ALPHA))
                mend = word_end(sc, mend + 1);
            e = dose_after(sc, mend);
        } else {
            /* a listed finding phrase that starts with a lab marker ("eGFR has
             * fallen") takes the value after it like lab_phrase does */
            if (cat == REDACT_CONDITION && mend > t->end && value_may_follow(sc, mend)) {
                /* the first word alone: the text cut at its end, for this
                 * walk only (a copy of the scan cost 130 instructions) */
                size_t n = sc->n;
                dmatch wm;
                sc->n = t->end;
                int lab = dict_match(sc, t->start, &wm) && wm.end == t->end &&
                          (wm.kinds & RK_BIT(RK_LAB));
                sc->n = n;
                if (lab)
                    mend = value_after(sc, mend);
            }
            start = mod_start(sc, t->start);
            /* the whole hyphenated word takes its head's category: "Knie-OP",
             * "kontroll-CT", "szívbillentyű-műtéte" */
            size_t hs = hyphen_start(sc, t->start);
            if (hs < start)
                start = hs;
            /* a state word that is also a condition ("pattanásos az arca",
             * "poparzoną skórę na piersi") takes its body part like a pain word */
            int pain = cat == REDACT_CONDITION && (k & (RK_BIT(RK_PAIN) | RK_BIT(RK_STATE)));
            /* A named target belongs to the test ("MRI of the lumbar spine",
             * "Ultraschall der Schilddrüse"); a diagnosis stands alone. */
            e = mod_end(sc, mend, pain || cat == REDACT_TREATMENT);
            if (cat == REDACT_TREATMENT && sc->lab_end != NO_CTX && sc->lab_end + 1 == t->start &&
                sc->s[sc->lab_end] == '-' && sc->lab_start < start)
                start = sc->lab_start; /* "PSA-Test", "INR-Kontrolle" */
            if (pain) {
                /* "Schmerzen im Rücken", "knee pain", "ból w klatce piersiowej" */
                size_t b = body_near_before(sc, t->start), a = body_near_after(sc, mend, LAY_WORDS);
                /* the body part may already be inside the complaint before
                 * it in the same clause ("wrist is swollen and bruised", "Hand
                 * ist seit dem Sturz geschwollen"): emit merges the two */
                if (b != NO_CTX && b < start &&
                    (b >= sc->covered || (sc->cnt > 0 && sc->out[sc->cnt - 1].cat == REDACT_CONDITION &&
                                          sc->out[sc->cnt - 1].start <= b)))
                    start = b;
                if (a) {
                    a = mod_end(sc, a, 1);
                    if (a > e)
                        e = a;
                }
            }
        }
        if (cat == REDACT_TREATMENT || (k & RK_BIT(RK_VACC))) {
            /* a vaccination or test with its object: "vaccine against typhoid",
             * "hastífusz elleni oltást"; a vaccine with its object is the
             * vaccination (a TREATMENT), as the guideline labels it. An object
             * after a link only for vaccinations and tests: "chemo for
             * lymphoma" is a treatment and a condition. */
            size_t oe = (k & RK_BIT(RK_VACC)) ? vacc_object_after(sc, e) : e;
            size_t ob = vacc_object_before(sc, t->start);
            if (oe > e || ob < start) {
                cat = REDACT_TREATMENT;
                rule = R_HEALTH_VACC;
            }
            e = oe;
            if (ob < start)
                start = ob;
        }
        if (cat == REDACT_CONDITION) {
            sc->obj_start = start;
            sc->obj_end = e;
        }
        emit(sc, start, e, cat, rule);
        sc->pre_end = NO_CTX;
        return e;
    }
    /* Most listed words have none of the kinds below (links, stop words,
     * context words): one test instead of a score of them. */
    if (!(k & ~(PASSIVE_KINDS | PRE_KINDS)))
        return mend > t->end ? mend : t->end;
    if (k & RK_BIT(RK_PATHOGEN)) { /* for a vaccination after it */
        sc->obj_start = t->start;
        sc->obj_end = mend;
    }
    if (k & (RK_BIT(RK_MODPRE) | RK_BIT(RK_BODY))) {
        /* remember the run for a finding that may follow */
        if (sc->pre_end != NO_CTX && sc->pre_end <= t->start && t->start - sc->pre_end <= 2 &&
            same_clause(sc, sc->pre_end, t->start) && sc->pre_start >= sc->covered)
            sc->pre_end = mend;
        else {
            sc->pre_start = t->start;
            sc->pre_end = mend;
        }
        if (k & RK_BIT(RK_BODY)) {
            /* "scar on my knee", "Muttermal am Rücken": a body word behind a
             * link word after another one continues the same body phrase */
            if (!(sc->body_end != NO_CTX && sc->body_end <= t->start && sc->body_start >= sc->covered &&
                  body_link_between(sc, sc->body_end, t->start)))
                sc->body_start = t->start;
            sc->body_end = mend;
        }
    }
    if (k & RK_BIT(RK_PAIN)) {
        size_t e = lay_phrase(sc, t->start, mend);
        if (e)
            return e;
    }
    if (k & RK_BIT(RK_STATE)) {
        size_t e = state_phrase(sc, t->start, mend);
        if (e)
            return e;
    }
    if (k & (RK_BIT(RK_PVERB) | RK_BIT(RK_PVERBW))) {
        if ((k & RK_BIT(RK_PVERB)) || person_subject(sc, t->start))
            sc->pverb_end = mend;
        /* a copula phrase does not swallow the words after its first one: "i
         * get" leaves "get tested" to the dictionary */
        if (!(k & ~(RK_BIT(RK_PVERB) | RK_BIT(RK_PVERBW))))
            return t->end;
    }
    if (k & RK_BIT(RK_PSTATE)) {
        size_t e = pstate_phrase(sc, t->start, mend);
        if (e)
            return e;
    }
    if (k & RK_BIT(RK_EXAM)) {
        size_t e = exam_phrase(sc, t->start, mend, k);
        if (e)
            return e;
    }
    if (k & RK_BIT(RK_DISEASE)) {
        /* "chorobę Alzheimera", "choroby serca", "disease of the liver" */
        size_t e = mod_end(sc, mend, 1);
        if (e > mend) {
            emit(sc, mod_start(sc, t->start), e, REDACT_CONDITION, R_HEALTH_LAY);
            sc->pre_end = NO_CTX;
            return e;
        }
    }
    /* "im" without its apostrophe is English "I'm" only when the message is known to be
     * English; in auto it is far more often German "im Sommer", "im Pflegeheim". */
    if ((k & RK_BIT(RK_CTX_NAME)) &&
        !(sc->lang == REDACT_LANG_AUTO && mend - t->start == 2 && (sc->s[t->start] | 0x20) == 'i'))
        return person_after(sc, mend, SEPS(" :,"), 1, 0, R_PERSON_INTRO);
    if (k & RK_BIT(RK_CTX_KIN)) {
        sc->kin_end = mend;
        size_t e = person_after(sc, mend, SEPS(" ,("), 0, 0, R_PERSON_INTRO); /* "Babcia (Stanisława …" */
        return e != mend ? e : kin_month_name(sc, mend);
    }
    if (k & RK_BIT(RK_TITLE))
        return person_after(sc, mend, SEPS(" ."), 1, 0, R_PERSON_TITLE);
    if (k & RK_BIT(RK_SIGNOFF))
        return person_after(sc, mend, SEPS(" ,!.:\n\r-"), 1, 0, R_PERSON_SIGNOFF);
    if (k & RK_BIT(RK_GREET))
        return person_after(sc, mend, SEPS(" ,"), 0, 0, R_PERSON_GREETING);
    if ((k & RK_BIT(RK_STREET_PRE)) || ((k & RK_BIT(RK_STREET_PRE_DE)) && (t->flags & TF_CAP))) {
        size_t e = street_pre(sc, t->start, mend, !(k & RK_BIT(RK_STREET_PRE)));
        if (e)
            return e;
    }
    if (k & RK_BIT(RK_STREET_POST)) {
        size_t e = street_post(sc, t, mend);
        if (e)
            return e;
    }
    if (k & RK_BIT(RK_NAME_POST)) {
        /* Two name words, so "Beteg vagyok" (I am ill) is not a name. */
        const tok *p = prev_tok(sc, 0), *q = prev_tok(sc, 1);
        if (p && q && prev_is_name_word(sc, p, t->start) && prev_is_name_word(sc, q, p->start))
            emit_person(sc, q->start, p->end, R_PERSON_INTRO);
        return mend;
    }
    if (k & RK_BIT(RK_TITLE_POST)) {
        const tok *p = prev_tok(sc, 0);
        if (p && prev_is_name_word(sc, p, t->start)) {
            size_t start = p->start;
            const tok *q = prev_tok(sc, 1);
            if (q && prev_is_name_word(sc, q, p->start))
                start = q->start;
            emit_person(sc, start, p->end, R_PERSON_TITLE);
        }
        return mend;
    }
    if (k & RK_BIT(RK_MONTH)) { /* "March 12, 1980", "Oct. 4, 1961" */
        int d, y;
        size_t j = mend;
        if (j < sc->n && sc->s[j] == '.')
            j++;
        while (j < sc->n && sc->s[j] == ' ')
            j++;
        size_t ld = digits_at(sc, j, &d);
        if (ld >= 1 && ld <= 2 && d >= 1 && d <= 31) {
            size_t e = ordinal_end(sc, j + ld); /* "May 3rd, 1980" */
            while (e < sc->n && (sc->s[e] == ',' || sc->s[e] == ' '))
                e++;
            size_t ly = digits_at(sc, e, &y);
            if (ly == 4) {
                date_found(sc, t->start, e + 4, y);
                return e + 4;
            }
        }
    }
    if ((k & RK_BIT(RK_FIRSTNAME)) && (t->flags & TF_CAP) && m.end == t->end) {
        size_t start = t->start;
        if (sc->lang == REDACT_LANG_HU || sc->lang == REDACT_LANG_AUTO) {
            /* Hungarian order: family name first ("Kovács Anna"). */
            const tok *p = prev_tok(sc, 0);
            if (p && prev_is_name_word(sc, p, t->start))
                start = double_name_start(sc, 1, p->start);
        }
        size_t end = t->end;
        for (int n2 = 0; n2 < 2; n2++) {
            tok v;
            if (end >= sc->n || (sc->s[end] != ' ' && sc->s[end] != '-'))
                break;
            if (!next_word(sc, end + 1, 0, SEPS(""), &v) || !name_word(sc, &v, 0))
                break;
            end = v.end;
        }
        size_t st = street_after_name(sc, start, end);
        if (st)
            return st;
        emit_person(sc, start, end, R_PERSON_FIRSTNAME);
        return end;
    }
    return mend > t->end ? mend : t->end;
}

/* A word token (letters, or letters with digits from on_alnum): its
 * dictionary walk, then the rules. Most words are unlisted and lower case,
 * and then no rule applies: no kinds, no compound tail (shorter than
 * TAIL_MIN_WORD, or tail_match finds no health term there: about 19 of
 * 4,800 tail walks per 200 kB do, and on_word_rules walks again only for
 * those), no inflected form (no hyphen before it, and infl_reachable, as in
 * on_word_rules), and the name and street rules want a capital: for such a
 * word with one, on_unlisted_cap is all that is left of the rules. So are
 * most listed words with only passive kinds (function words) that cannot
 * hold a compound's tail: on_word_rules would only set their kinds. All of
 * them return here, without the rules' call. Inlined into redact_scan's
 * loop: as a call of its own, its frame cost about 18 instructions for each
 * of the scan's words. */
__attribute__((always_inline)) static inline size_t on_word(scan *sc, tok *t)
{
    const dict_memo *me = dict_memo_walk(sc, t->start); /* fields read one by one: see there */
    int hit = me->found;
    dmatch m;
    m.end = hit ? me->m.end : t->end;
    m.kinds = hit ? me->m.kinds : 0;
    dstop stop;
    stop.at = me->stop.at;
    stop.infl = me->stop.infl;
    size_t len = t->end - t->start;
    if (!hit && !(t->flags & TF_DIGIT) &&
        (!(sc->langbits & (RL_PL | RL_HU)) ||
         ((t->start == 0 || sc->s[t->start - 1] != '-') && !infl_reachable(sc, t, stop))) &&
        (len < TAIL_MIN_WORD || !(tail_match(sc, t->start, t->end) & HEALTH_KINDS))) {
        t->kinds = 0;
        return (t->flags & TF_CAP) ? on_unlisted_cap(sc, t) : t->end;
    }
    if (hit && m.kinds && !(m.kinds & ~PASSIVE_KINDS) &&
        (len < TAIL_MIN_WORD || m.end > t->end || (t->flags & TF_DIGIT))) {
        t->kinds = m.end == t->end ? m.kinds : RK_BIT(RK_STOP); /* as on_word_rules sets them */
        return m.end > t->end ? m.end : t->end;
    }
    return on_word_rules(sc, t, hit, m, stop);
}

/* ---------------------------------------------------------------- e-mail */

static int local_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
           c == '_' || c == '%' || c == '+' || c == '-';
}

static int domain_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '.';
}

static size_t on_at(scan *sc, size_t at)
{
    size_t ls = at, k = 0;
    while (ls > 0 && local_char(sc->s[ls - 1]) && k < 64) {
        ls--;
        k++;
    }
    while (ls < at && sc->s[ls] == '.')
        ls++;
    if (ls == at)
        return at + 1;
    size_t de = at + 1, lastdot = 0;
    while (de < sc->n && domain_char(sc->s[de]) && de - at < 254) {
        if (sc->s[de] == '.')
            lastdot = de;
        de++;
    }
    while (de > at + 1 && (sc->s[de - 1] == '.' || sc->s[de - 1] == '-'))
        de--; /* sentence punctuation after the address */
    lastdot = 0;
    for (size_t i = at + 1; i < de; i++)
        if (sc->s[i] == '.')
            lastdot = i;
    if (!lastdot || lastdot <= at + 1 || de - lastdot < 3)
        return at + 1;
    for (size_t i = lastdot + 1; i < de; i++)
        if (is_digit(sc->s[i]) || sc->s[i] == '-')
            return at + 1;
    emit(sc, ls, de, REDACT_EMAIL, R_EMAIL);
    return de;
}

/* ------------------------------------------------------------------ scan */

/* Sets up sc for a scan of text[0..len) in lang, findings into out[0..max);
 * memo is the caller's DICT_MEMO entries. Each field is set here rather than
 * the whole struct cleared first: the gateway scans one message (71 bytes on
 * average) per call, and clearing the scan's 736 bytes, then filling ctx's
 * 43 slots with NO_CTX, cost about 145 instructions per call. The ring
 * prev[] is read only below nprev, and ctx only in the CTX_KINDS slots (the
 * ones on_word_rules writes and ctx_recent reads), so the rest of both stays
 * unset. */
static inline void scan_init(scan *sc, dict_memo *memo, const redact_engine *eng,
                             const char *text, size_t len, redact_lang lang, redact_finding *out,
                             size_t max)
{
    _Static_assert(sizeof(void *) != 8 || sizeof(scan) == 752,
                   "a field was added to scan: set it here, then update this size");
    for (size_t k = 0; k < DICT_MEMO; k++)
        memo[k].p = SIZE_MAX; /* no start: len < SIZE_MAX */
    sc->memo = memo;
    sc->t = eng->t;
    sc->s = (const unsigned char *)text;
    sc->n = len;
    sc->lang = lang;
    sc->langbits = lang_slots[lang];
    sc->lterms = eng->dict_terms + (size_t)lang * eng->t->n_terms;
    sc->pair = eng->pair;
    sc->pl_last = eng->pl_last;
    sc->pair_nc = eng->pair_nc;
    sc->pair_rec = eng->pair_rec;
    sc->tail_filt = eng->tail_filt;
    sc->tail_lterms = eng->tail_terms + (size_t)lang * eng->tail->n_terms;
    sc->out = out;
    sc->max = max;
    sc->cnt = 0;
    sc->full = 0;
    sc->covered = 0;
    for (uint64_t ck = CTX_KINDS; ck; ck &= ck - 1)
        sc->ctx[__builtin_ctzll(ck)] = NO_CTX;
    sc->street_end = NO_CTX;
    sc->person_end = NO_CTX;
    sc->kin_end = NO_CTX;
    sc->city_start = sc->city_end = NO_CTX;
    sc->nprev = 0;
    sc->tail = eng->tail;
    sc->pre_start = sc->pre_end = sc->body_start = sc->body_end = NO_CTX;
    sc->res_start = sc->res_end = sc->lab_start = sc->lab_end = NO_CTX;
    sc->pverb_end = NO_CTX;
    sc->obj_start = sc->obj_end = NO_CTX;
}

int redact_scan(const redact_engine *eng, const char *text, size_t len, redact_lang lang,
                redact_finding *out, size_t max, size_t *n_out)
{
    if (n_out)
        *n_out = 0;
    if (!eng || (!text && len) || !out || !n_out || (unsigned)lang > REDACT_LANG_HU)
        return REDACT_E_INVAL;
    scan sc;
    dict_memo memo[DICT_MEMO];
    scan_init(&sc, memo, eng, text, len, lang, out, max);
    if (max == 0 && len > 0) {
        return REDACT_E_NOSPACE;
    }

    tokmap map = {.s = sc.s, .n = len, .wide = eng->tok_wide};
    if (len)
        tokmap_load(&map, 0);
    size_t i = 0;
    while (i < len && !sc.full) {
        if (i < sc.covered) {
            i = sc.covered;
            continue;
        }
        /* Only the handlers move covered or set full, so the bytes skipped
         * by tokmap_next need neither check. */
        tok t;
        i = tokmap_next(&map, &sc, i, &t);
        if (i >= len)
            break;
        if (t.end == i) {
            i = on_at(&sc, i);
            continue;
        }
        size_t next;
        if (t.cls & RF_DIGIT)
            next = on_number(&sc, &t);
        else if (t.flags & TF_DIGIT)
            next = on_alnum(&sc, &t);
        else
            next = on_word(&sc, &t);
        sc.prev[sc.nprev & 3] = t;
        sc.nprev++;
        i = next > t.end ? next : t.end;
    }
    *n_out = sc.cnt;
    return sc.full ? REDACT_E_NOSPACE : REDACT_OK;
}

/* --------------------------------------------------------------- apply */

size_t redact_apply_size(size_t len, const redact_finding *f, size_t n)
{
    size_t out = len;
    for (size_t i = 0; i < n; i++) {
        const char *name = redact_category_name(f[i].cat);
        out = out - (f[i].end - f[i].start) + strlen(name) + 2;
    }
    return out;
}

int redact_apply(const char *text, size_t len, const redact_finding *f, size_t n, char *out,
                 size_t out_cap, size_t *out_len)
{
    if ((!text && len) || (!f && n) || !out || !out_len)
        return REDACT_E_INVAL;
    size_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        if (f[i].start < prev || f[i].end <= f[i].start || f[i].end > len)
            return REDACT_E_INVAL;
        prev = f[i].end;
    }
    size_t need = redact_apply_size(len, f, n);
    if (out_cap < need + 1)
        return REDACT_E_NOSPACE;
    size_t o = 0, at = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(out + o, text + at, f[i].start - at);
        o += f[i].start - at;
        const char *name = redact_category_name(f[i].cat);
        size_t nl = strlen(name);
        out[o++] = '[';
        memcpy(out + o, name, nl);
        o += nl;
        out[o++] = ']';
        at = f[i].end;
    }
    memcpy(out + o, text + at, len - at);
    o += len - at;
    out[o] = 0;
    *out_len = o;
    return REDACT_OK;
}
