/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to redact: the layout of the dictionary automaton that
 * policy/tools/redact_gen.c compiles from policy/dict/ at build time, and the
 * UTF-8 decoding and case/diacritic folding that both the generator and the
 * scanner use. Sharing the fold here is what guarantees that a term folded at
 * build time matches the same text folded at scan time.
 *
 * Not a public API: only redact*.c and the generator include it. It holds no
 * state; everything is static inline or const data.
 */
#ifndef REDACT_TABLES_H
#define REDACT_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* Dictionary kinds; a node carries a bit mask of them. The file name of a
 * dictionary (policy/dict/<kind>.<lang>.txt) selects the kind. */
enum {
    RK_CONDITION = 0,
    RK_MEDICATION,
    RK_TREATMENT,
    RK_FIRSTNAME,
    RK_CTX_BIRTH,   /* "geb.", "born", "urodzony", "született" */
    RK_CTX_PHONE,   /* "Tel.", "Handy", "phone", "telefon" */
    RK_CTX_NEG,     /* invoice/order/room/price words: numbers after them are not PII */
    RK_CTX_NAME,    /* "mein Name ist", "my name is", "nazywam się", "a nevem" */
    RK_CTX_ID,      /* "KVNR", "PESEL", "TAJ", "NHS number" */
    RK_CTX_ADDR,    /* "wohne in", "address", "adres", "lakcím" */
    RK_CTX_ICD,     /* "ICD", "Diagnose", "diagnosis", "rozpoznanie" */
    RK_TITLE,       /* Herr, Frau, Dr., Mr, Pan, Pani */
    RK_TITLE_POST,  /* Hungarian post-positioned: úr, asszony, néni */
    RK_GREET,       /* Hallo, Dear, Dzień dobry, Kedves */
    RK_SIGNOFF,     /* Viele Grüße, Regards, Pozdrawiam, Üdvözlettel */
    RK_STREET_PRE,  /* ul., ulica, al. (name follows) */
    RK_STREET_POST, /* Street, Road, utca, út, Straße as separate word */
    RK_MONTH,
    RK_CITY,
    RK_STOP,          /* capitalised words that are never names: Team, Praxis */
    RK_UNIT,          /* dose units: mg, ml, IE, Tabletten */
    RK_CTX_KIN,       /* kinship words before a name: Sohn, daughter, córka, a fiam */
    RK_NAME_POST,     /* Hungarian "vagyok": family and given name stand before it */
    RK_STREET_PRE_DE, /* German "Am", "An der", "Im": street names without a street word */
    RK_BODY,          /* body parts with their inflected forms: knee, Rücken, brzuch, hátam */
    RK_MODPRE,        /* modifiers before a finding: chronic, beidseitige, przewlekłe, krónikus */
    RK_MODPOST,       /* complements after a finding: type/Typ/typu (+ number), Alzheimera */
    RK_PAIN,          /* pain/symptom words that make a body part a finding: hurts, weh, boli */
    RK_LINK,          /* words between a finding and its body part: of the, im, am */
    RK_DISEASE,       /* "choroba", "disease", "Morbus": a finding only with a complement */
    RK_LAB,           /* lab markers and measured values: TSH, Kalium, cukier, vérnyomás */
    RK_RESULT,        /* result words that make a lab marker a finding: raised, zu niedrig, magas */
    RK_EXAM,          /* exam/procedure nouns that need an object: scan, Spritzen, badanie */
    RK_STATE,         /* state predicates on a body part: oozing, empfindlich, łzawi, gyógyul */
    RK_PSTATE,        /* person states after a copula: exhausted, erschöpft, osłabiona, kimerült */
    RK_PVERB,         /* copulas and feel/get verbs with a person subject: I'm, fühle mich, jestem */
    RK_PVERBW,        /* copulas with any subject, a person state only after a name or kin word */
    RK_PCOMP,         /* words that make a state adjective ordinary: tired "of", müde "vom" */
    RK_PATHOGEN,      /* vaccine and test targets: rabies, Tollwut, wściekliznę, hastífusz */
    RK_VLINK,         /* between a vaccination/test and its object: against, gegen, na, elleni */
    RK_VACC,          /* vaccinations, vaccines, tests: take their object after a link word */
    RK_CAPS,          /* acronyms that count only written in capitals: ALS (als), ZUM (zum), PET */
    RK_LABHEAD,       /* value words that make an acronym before them a lab marker: AMH-Werte */
    RK__COUNT
};

/* 64 bits: the 32 of a uint32_t ran out when the finding kinds (lab, result,
 * exam, state) came. */
#define RK_BIT(k) (UINT64_C(1) << (k))

/* Language bits of a node (union of the dictionaries its terms came from). */
#define RL_ALL (1u << 0)
#define RL_DE (1u << 1)
#define RL_EN (1u << 2)
#define RL_PL (1u << 3)
#define RL_HU (1u << 4)

/* The automaton as one transition table (a "double array"): every state
 * with children owns a base, and its child with label c is the record in
 * slot base + cls[c]. A record is 8 bytes: the label it was reached by
 * (RT_TAG | byte, under RT_LABEL; a free slot holds 0, which no byte matches,
 * not even 0, and a phrase filter's slot, below, has RT_TAG clear too),
 * the base of its own children (0 for none: slots below the number of
 * classes hold no record) and its terminal index (0 or an index into terms).
 * A step is one load and one compare: the slot's label equals RT_TAG | c only
 * when the slot belongs to this state, since no two states share a base.
 * Slot 0 is the root, and no edge leads back to it, so 0 also means "no
 * edge".
 * The automaton is a minimised DAG (policy/tools/redact_gen.c): equivalent
 * states share one base, so a state reached along several paths is one
 * record in each parent's block, all with the same base. */
#define RT_TAG 0x100u
/* Above the tagged label: RT_MID marks a term state that matters inside a
 * word (a stem, or a medication name, which takes case endings), so a walk
 * passing through the middle of a word skips every other term state
 * without reading its kinds. */
#define RT_LABEL 0x1ffu
#define RT_MID 0x200u
/* RT_INFL marks a state where the inflection step (redact.c, infl_match)
 * could find a lemma: a term of REDACT__INFL_KINDS ends there, or after one
 * of the Polish endings' replacements (redact__pl_endings) from there. That
 * step walks a word's own folded bytes from the root, as dict_walk did, and
 * takes its lemmas from the states on that path, at least three bytes deep;
 * so when dict_walk passed no RT_INFL state inside the word, the step can
 * find nothing, and most long unlisted words skip it (redact.c, dict_walk).
 * In any language slot: a state marked for one language only is walked
 * anyway, the step still asks the message's languages. */
#define RT_INFL 0x400u
#define REDACT__INFL_KINDS (RK_BIT(RK_CONDITION) | RK_BIT(RK_TREATMENT) | RK_BIT(RK_EXAM))
typedef struct {
    uint32_t base;
    uint16_t term;
    uint16_t label;
} redact__tr;

/* The phrase filter. A walk that reaches a word's end in a state with a ' '
 * child (a multi-word term: "bei Bedarf", a first name and a surname) steps
 * on into the next word, and most such continuations die within that word's
 * first two letters, each step a load from a cold part of the table. So the
 * slot at such a state's base (class 0's slot, which no step can match) is
 * not a record but a filter: its 64 bits (base, term, then label, from the
 * low end) are a bit set, except bit 56, the label's RT_TAG, which stays
 * clear so that no step ever matches the slot; a pair hashed to it passes.
 * Bit redact__spc_bit(a, b) is set for every pair of folded ASCII letters or
 * digits a, b where the walk could still find something after the
 * separator: the state after a exists and either has a child b or is an
 * RT_MID term (which matches inside a word). Bit redact__spc_bit(a, 0) is
 * set for every a the state after ' ' has a child for, since a next byte
 * that is no ASCII letter or digit (a word end, UTF-8, '.') is not filtered
 * by the second byte. A clear bit proves the continuation cannot find
 * anything; a set bit may be a collision (a filter, not a set). The hash
 * takes the bytes, not their classes, to save the walk two loads; its
 * multipliers left the fewest collisions among a dozen tried on the
 * labelled texts (about 7,900 of 14,400 continuations per 200 kB end at the
 * filter; an exact set of pairs would end 9,600). */
#define RT_SPC_TAG ((uint64_t)RT_TAG << 48) /* RT_TAG in the label's place: bit 56 */
static inline unsigned redact__spc_bit(unsigned a, unsigned b)
{
    return (a * 5u + b * 3u) & 63u;
}
static inline uint64_t redact__spc_filter(redact__tr f)
{
    return (uint64_t)f.base | (uint64_t)f.term << 32 | (uint64_t)f.label << 48 | RT_SPC_TAG;
}

/* Polish: ending → what the lemma has instead (redact.c, infl_match; the
 * generator marks RT_INFL from the replacements). Not "-a", "-ą", "-i" → "":
 * verb forms end so too ("zawala", "wylewa", "zabiega"). */
#define REDACT__PE(s, r) {s, r, sizeof s - 1, sizeof r - 1}
static const struct {
    const char *suf, *repl;
    unsigned char len, rlen;
} redact__pl_endings[] = {
    REDACT__PE("e", "a"),     REDACT__PE("e", ""),      REDACT__PE("y", "a"),
    REDACT__PE("y", ""),      REDACT__PE("i", "a"),     REDACT__PE("u", ""),
    REDACT__PE("owi", ""),    REDACT__PE("em", ""),     REDACT__PE("iem", ""),
    REDACT__PE("ach", ""),    REDACT__PE("ach", "a"),   REDACT__PE("ami", ""),
    REDACT__PE("ami", "a"),   REDACT__PE("om", ""),     REDACT__PE("om", "a"),
    REDACT__PE("ow", ""),     REDACT__PE("ie", ""),     REDACT__PE("ie", "a"),
    REDACT__PE("ie", "o"),    REDACT__PE("rze", "r"),   REDACT__PE("rze", "ra"),
    REDACT__PE("cie", "t"),   REDACT__PE("cie", "ta"),  REDACT__PE("dzie", "d"),
    REDACT__PE("dzie", "da"), REDACT__PE("ce", "k"),    REDACT__PE("ce", "ka"),
    REDACT__PE("dze", "g"),   REDACT__PE("dze", "ga"),  REDACT__PE("ej", "a"),
    REDACT__PE("ym", "y"),    REDACT__PE("ego", "y")};
#undef REDACT__PE
#define REDACT__N_PL_ENDINGS (sizeof redact__pl_endings / sizeof redact__pl_endings[0])

/* Kinds of the terms ending at a state, per language slot (0 all, 1 de,
 * 2 en, 3 pl, 4 hu), so a Hungarian term never fires in an English message
 * just because an English term shares its spelling. exact: the term ends at a
 * word boundary; stem: it may continue with any letters (inflection,
 * compounds) up to the end of the word. */
#define RL_SLOTS 5
typedef struct {
    uint64_t exact[RL_SLOTS];
    uint64_t stem[RL_SLOTS];
} redact__term;

/* Everything here is static const data in the generated file (read-only, shared
 * between threads and processes). cls has at most 255 classes; base + class
 * stays inside tr for every state. */
typedef struct {
    const redact__tr *tr;
    size_t n_tr;        /* slots */
    size_t n_records;   /* slots holding a record (edges of the DAG) */
    const uint8_t *cls; /* label class of each byte, 0 when no edge carries it */
    const redact__term *terms;
    size_t n_terms;
    size_t max_depth; /* longest folded term, bounds the walk */
} redact__tables;

/* Defined in the generated redact_tables.c. redact__dict is walked forwards
 * from a word start. redact__tail holds the tail lists (policy/dict/
 * tail_<kind>.<lang>.txt) with every folded term reversed, so it is walked
 * backwards from a word end: it finds health heads and suffixes at the end of
 * compounds ("Nieren|kolik", "prosztata|rák", "arthro|scopy"). Its kinds are
 * RK_CONDITION, RK_MEDICATION, RK_TREATMENT, and RK_STOP for ordinary words
 * that end the same way (Hose, Dose, Abbruch); stem marks are not used. */
extern const redact__tables redact__dict;
extern const redact__tables redact__tail;

/* Decodes one code point at s[i] (i < n). Returns its byte length (>= 1).
 * Invalid or truncated sequences yield U+FFFD with length 1, so every byte is
 * consumed exactly once and the scan stays linear. */
static inline size_t redact__utf8(const unsigned char *s, size_t i, size_t n, uint32_t *cp)
{
    unsigned char c = s[i];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07u;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (i + len > n) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t k = 1; k < len; k++) {
        unsigned char d = s[i + k];
        if ((d & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (d & 0x3Fu);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
        (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return len;
}

/* The bytes redact__fold (and the scanner's ASCII fold) gives for ASCII
 * letters and digits: the labels a walk over ASCII text can step, which the
 * tables derived from the automaton (the scanner's two-byte steps, the
 * generator's phrase filters) go through. */
#define REDACT__ALNUM "0123456789abcdefghijklmnopqrstuvwxyz"

/* Character classes returned by redact__fold. */
#define RF_WORD (1u << 0)  /* letter, digit or combining mark: part of a word */
#define RF_UPPER (1u << 1) /* upper-case letter */
#define RF_DIGIT (1u << 2)
#define RF_ALPHA (1u << 3)

/* Base letters of U+00C0..U+00FF and U+0100..U+017F; '.' marks a non-letter. */
static const char redact__fold_l1[65] = "aaaaaaaceeeeiiiidnooooo.ouuuuyts"
                                        "aaaaaaaceeeeiiiidnooooo.ouuuuyty";
static const char redact__fold_la[129] =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkklllllll"
    "lllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

/* Folds one code point to at most two lower-case ASCII bytes in out (returns
 * the count, possibly 0 for combining marks) and sets *cls. Letters outside
 * Latin fold to 0x01, which no term contains, so they are word characters that
 * never match. Diacritics are dropped on purpose: chat users often type
 * "Migrane" or "cukrzyca" without them, and the folding is also applied to the
 * dictionary so both spellings meet. */
static inline size_t redact__fold(uint32_t cp, char out[2], unsigned *cls)
{
    if (cp < 0x80) {
        if (cp >= 'a' && cp <= 'z') {
            *cls = RF_WORD | RF_ALPHA;
            out[0] = (char)cp;
            return 1;
        }
        if (cp >= 'A' && cp <= 'Z') {
            *cls = RF_WORD | RF_ALPHA | RF_UPPER;
            out[0] = (char)(cp + 32);
            return 1;
        }
        if (cp >= '0' && cp <= '9') {
            *cls = RF_WORD | RF_DIGIT;
            out[0] = (char)cp;
            return 1;
        }
        *cls = 0;
        return 0;
    }
    if (cp == 0xB5) { /* micro sign, as in "µg" */
        *cls = RF_WORD | RF_ALPHA;
        out[0] = 'u';
        return 1;
    }
    if (cp >= 0xC0 && cp <= 0xFF) {
        char b = redact__fold_l1[cp - 0xC0];
        if (b == '.') {
            *cls = 0;
            return 0;
        }
        *cls = RF_WORD | RF_ALPHA | (cp < 0xDF ? RF_UPPER : 0u);
        if (cp == 0xDF) { /* ß */
            out[0] = 's';
            out[1] = 's';
            return 2;
        }
        out[0] = b;
        return 1;
    }
    if (cp >= 0x100 && cp <= 0x17F) {
        unsigned upper;
        if (cp == 0x138 || cp == 0x149 || cp == 0x17F)
            upper = 0;
        else if (cp >= 0x139 && cp <= 0x148)
            upper = (cp & 1u);
        else if (cp == 0x178)
            upper = 1;
        else if (cp >= 0x179)
            upper = (cp & 1u);
        else
            upper = !(cp & 1u);
        *cls = RF_WORD | RF_ALPHA | (upper ? RF_UPPER : 0u);
        out[0] = redact__fold_la[cp - 0x100];
        return 1;
    }
    if (cp >= 0x300 && cp <= 0x36F) { /* combining marks belong to the word */
        *cls = RF_WORD;
        return 0;
    }
    if ((cp >= 0x180 && cp <= 0x24F) ||
        (cp >= 0x370 && cp <= 0x3FF && cp != 0x37E && cp != 0x387) ||
        (cp >= 0x400 && cp <= 0x52F) || (cp >= 0x1E00 && cp <= 0x1EFF)) {
        *cls = RF_WORD | RF_ALPHA;
        out[0] = 0x01;
        return 1;
    }
    *cls = 0;
    return 0;
}

#endif
