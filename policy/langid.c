/* SPDX-License-Identifier: Apache-2.0 */
/*
 * langid: see langid.h. The word table is our own list of frequent function words
 * of each language; words shared by two of the four languages ("mit", "do", "is",
 * "ma", "mi") are left out because they cannot tell the languages apart.
 */
#include "langid.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) && !defined(LANGID_SCALAR)
#define LID_SSE2 1
#include "bytes_sse2.h"
#endif

enum { LID_DE, LID_EN, LID_PL, LID_HU };

#define LANGID_MAXWORD 16 /* longer words are no function words */
#define LID_KEY 12        /* bytes of a lookup key: every table word fits (slots_fill
                           * asserts it), so a word of 13 to 16 bytes, which the
                           * definition would look up, cannot be in the table and is
                           * skipped without a probe */
_Static_assert(LID_KEY <= LANGID_MAXWORD, "keys are words that are looked up");

typedef struct {
    const char *w; /* lower case UTF-8 */
    unsigned char lang;
} lid_word;

/* Sorted by strcmp (bytes), which keeps it easy to read and to check for
 * duplicates (the unit test checks the order); lookups go through a hash
 * table built from it once. */
static const lid_word words[] = {
    {"a", LID_HU},
    {"aber", LID_DE},
    {"about", LID_EN},
    {"after", LID_EN},
    {"again", LID_EN},
    {"ale", LID_PL},
    {"and", LID_EN},
    {"any", LID_EN},
    {"are", LID_EN},
    {"at", LID_EN},
    {"auch", LID_DE},
    {"auf", LID_DE},
    {"az", LID_HU},
    {"azt", LID_HU},
    {"bardzo", LID_PL},
    {"be", LID_EN},
    {"been", LID_EN},
    {"bei", LID_DE},
    {"bitte", LID_DE},
    {"bo", LID_PL},
    {"by\xc5\x82", LID_PL},
    {"by\xc5\x82" "a", LID_PL},
    {"by\xc5\x82o", LID_PL},
    {"b\xc4\x99" "dzie", LID_PL},
    {"can", LID_EN},
    {"can't", LID_EN},
    {"co", LID_PL},
    {"could", LID_EN},
    {"csak", LID_HU},
    {"czy", LID_PL},
    {"danke", LID_DE},
    {"darf", LID_DE},
    {"das", LID_DE},
    {"dass", LID_DE},
    {"dem", LID_DE},
    {"den", LID_DE},
    {"der", LID_DE},
    {"die", LID_DE},
    {"dla", LID_PL},
    {"dobry", LID_PL},
    {"does", LID_EN},
    {"don't", LID_EN},
    {"dzie\xc5\x84", LID_PL},
    {"dzisiaj", LID_PL},
    {"dzi\xc4\x99kuj\xc4\x99", LID_PL},
    {"egy", LID_HU},
    {"ein", LID_DE},
    {"eine", LID_DE},
    {"einen", LID_DE},
    {"etwas", LID_DE},
    {"euch", LID_DE},
    {"ez", LID_HU},
    {"ezt", LID_HU},
    {"for", LID_EN},
    {"f\xc3\xbcr", LID_DE},
    {"ganz", LID_DE},
    {"gdy", LID_PL},
    {"gestern", LID_DE},
    {"get", LID_EN},
    {"gibt", LID_DE},
    {"go", LID_PL},
    {"got", LID_EN},
    {"gr\xc3\xbc\xc3\x9f" "e", LID_DE},
    {"guten", LID_DE},
    {"ha", LID_HU},
    {"habe", LID_DE},
    {"haben", LID_DE},
    {"hallo", LID_DE},
    {"has", LID_EN},
    {"hat", LID_DE},
    {"have", LID_EN},
    {"he", LID_EN},
    {"hello", LID_EN},
    {"her", LID_EN},
    {"heute", LID_DE},
    {"hi", LID_EN},
    {"hier", LID_DE},
    {"his", LID_EN},
    {"hogy", LID_HU},
    {"hol", LID_HU},
    {"holnap", LID_HU},
    {"how", LID_EN},
    {"i'm", LID_EN},
    {"i've", LID_EN},
    {"ich", LID_DE},
    {"ihm", LID_DE},
    {"ihn", LID_DE},
    {"ihr", LID_DE},
    {"ile", LID_PL},
    {"im", LID_DE},
    {"immer", LID_DE},
    {"ist", LID_DE},
    {"it", LID_EN},
    {"it's", LID_EN},
    {"itt", LID_HU},
    {"jak", LID_PL},
    {"jego", LID_PL},
    {"jej", LID_PL},
    {"jest", LID_PL},
    {"jestem", LID_PL},
    {"jeszcze", LID_PL},
    {"jetzt", LID_DE},
    {"just", LID_EN},
    {"jutro", LID_PL},
    {"ju\xc5\xbc", LID_PL},
    {"j\xc3\xb3", LID_HU},
    {"kann", LID_DE},
    {"kein", LID_DE},
    {"keine", LID_DE},
    {"kell", LID_HU},
    {"kellene", LID_HU},
    {"kiedy", LID_PL},
    {"kt\xc3\xb3ra", LID_PL},
    {"kt\xc3\xb3re", LID_PL},
    {"kt\xc3\xb3ry", LID_PL},
    {"k\xc3\xa9rem", LID_HU},
    {"k\xc3\xb6nnen", LID_DE},
    {"k\xc3\xb6sz\xc3\xb6n\xc3\xb6m", LID_HU},
    {"lehet", LID_HU},
    {"mam", LID_PL},
    {"mamy", LID_PL},
    {"me", LID_EN},
    {"meg", LID_HU},
    {"mehr", LID_DE},
    {"mein", LID_DE},
    {"meine", LID_DE},
    {"meinen", LID_DE},
    {"meiner", LID_DE},
    {"mert", LID_HU},
    {"mia\xc5\x82", LID_PL},
    {"mia\xc5\x82" "a", LID_PL},
    {"mich", LID_DE},
    {"mikor", LID_HU},
    {"milyen", LID_HU},
    {"minden", LID_HU},
    {"mindig", LID_HU},
    {"mir", LID_DE},
    {"mnie", LID_PL},
    {"moja", LID_PL},
    {"moje", LID_PL},
    {"morgen", LID_DE},
    {"most", LID_HU},
    {"mo\xc5\xbc" "e", LID_PL},
    {"mo\xc5\xbcna", LID_PL},
    {"muss", LID_DE},
    {"my", LID_EN},
    {"m\xc3\xa1r", LID_HU},
    {"m\xc3\xa9g", LID_HU},
    {"m\xc3\xb3j", LID_PL},
    {"na", LID_PL},
    {"nach", LID_DE},
    {"nagyon", LID_HU},
    {"napot", LID_HU},
    {"need", LID_EN},
    {"nekem", LID_HU},
    {"neki", LID_HU},
    {"nem", LID_HU},
    {"nicht", LID_DE},
    {"nie", LID_PL},
    {"noch", LID_DE},
    {"not", LID_EN},
    {"nur", LID_DE},
    {"ob", LID_DE},
    {"od", LID_PL},
    {"oder", LID_DE},
    {"of", LID_EN},
    {"on", LID_EN},
    {"ott", LID_HU},
    {"our", LID_EN},
    {"please", LID_EN},
    {"po", LID_PL},
    {"prosz\xc4\x99", LID_PL},
    {"przez", LID_PL},
    {"schon", LID_DE},
    {"sehr", LID_DE},
    {"seit", LID_DE},
    {"sem", LID_HU},
    {"she", LID_EN},
    {"should", LID_EN},
    {"sie", LID_DE},
    {"since", LID_EN},
    {"sind", LID_DE},
    {"si\xc4\x99", LID_PL},
    {"soll", LID_DE},
    {"sollte", LID_DE},
    {"some", LID_EN},
    {"still", LID_EN},
    {"szeretn\xc3\xa9k", LID_HU},
    {"szeretn\xc3\xa9m", LID_HU},
    {"s\xc4\x85", LID_PL},
    {"tag", LID_DE},
    {"tak", LID_PL},
    {"tegnap", LID_HU},
    {"teraz", LID_PL},
    {"te\xc5\xbc", LID_PL},
    {"thank", LID_EN},
    {"thanks", LID_EN},
    {"that", LID_EN},
    {"the", LID_EN},
    {"them", LID_EN},
    {"there", LID_EN},
    {"they", LID_EN},
    {"this", LID_EN},
    {"to", LID_EN},
    {"trzeba", LID_PL},
    {"tudna", LID_HU},
    {"tudn\xc3\xa9k", LID_HU},
    {"tudok", LID_HU},
    {"tylko", LID_PL},
    {"und", LID_DE},
    {"uns", LID_DE},
    {"ut\xc3\xa1n", LID_HU},
    {"vagy", LID_HU},
    {"vagyok", LID_HU},
    {"van", LID_HU},
    {"vielen", LID_DE},
    {"volt", LID_HU},
    {"von", LID_DE},
    {"w", LID_PL},
    {"want", LID_EN},
    {"war", LID_DE},
    {"was", LID_EN},
    {"wczoraj", LID_PL},
    {"we", LID_EN},
    {"weil", LID_DE},
    {"wenn", LID_DE},
    {"what", LID_EN},
    {"when", LID_EN},
    {"wie", LID_DE},
    {"wieder", LID_DE},
    {"will", LID_EN},
    {"wir", LID_DE},
    {"wird", LID_DE},
    {"with", LID_EN},
    {"would", LID_EN},
    {"wurde", LID_DE},
    {"you", LID_EN},
    {"your", LID_EN},
    {"z", LID_PL},
    {"zu", LID_DE},
    {"\xc3\xa9s", LID_HU},
    {"\xc3\xb3ta", LID_HU},
    {"\xc5\xbc" "e", LID_PL},
};

const char *langid__word(size_t i, int *lang)
{
    if (i >= sizeof words / sizeof words[0])
        return NULL;
    *lang = words[i].lang;
    return words[i].w;
}

#define N_WORDS (sizeof words / sizeof words[0])

/*
 * The scan. A word is a run of word bytes (ASCII letters, the apostrophe of
 * "can't", every byte from 0x80, so a multi-byte character never splits a
 * word); ASCII upper case is folded, nothing else is. The text is read 64
 * bytes at a time into bit masks (16 bytes per step with SSE2, present on every
 * x86-64; a byte at a time on other CPUs, with the same results): word bytes,
 * and the lead bytes 0xc3 to 0xc5 of the letters that score. Word starts and
 * ends are then bit operations, not a branch per byte: the byte loop this
 * replaced cost as much as all the redaction rules together (perf, 2026-11-23).
 *
 * A word of 1 to LID_KEY bytes becomes a key: the word's bytes, folded, read
 * with two unaligned loads and padded with zero bytes to LID_KEY (no word byte
 * is zero, so equal keys are equal words of equal length); a longer word
 * becomes the key 0. The table is a perfect hash (hash and displace): the
 * key's hash picks a bucket, the bucket's displacement moves the hash to a slot
 * that no other table word has, so a lookup is one compare with one slot and
 * no branch (whether a word is a function word is a coin toss for the branch
 * predictor, so a probe loop mispredicts often). It is filled once
 * (pthread_once), then only read, so concurrent callers are safe.
 */
#define LID_SLOTS 512  /* a power of two, about twice the words */
#define LID_BUCKETS 128 /* a power of two; about two words each */
_Static_assert(N_WORDS < LID_SLOTS, "every word has its slot");

typedef struct {
    uint64_t lo;   /* key bytes 0..7 */
    uint32_t hi;   /* key bytes 8..11 */
    uint32_t lang; /* language (0..3); LID_NONE in an empty slot, whose key 0
                    * is also the key of a word too long to look up */
} lid_slot;

typedef struct {
    uint64_t lo;
    uint32_t hi;
} lid_keyv;

#define LID_NONE 4 /* no language: the points that go nowhere */

static lid_slot slots[LID_SLOTS];
static uint16_t displace[LID_BUCKETS];
static uint64_t hash_mul; /* the multiplier that made the hash perfect */
/* keymask[l]: the first l bytes of a key; none for 0 and for more than
 * LID_KEY (byte order independent: built from bytes, read the way the text
 * is read). */
static lid_keyv keymask[64 + 1];
/* Points for the two-byte character (lead, next byte), lead 0xc3..0xc5: the
 * language (0..3), or LID_NONE when it scores nothing (also when next is no
 * continuation byte). */
static unsigned char letters[3][256];
#if !defined(LID_SSE2)
/* Per byte: 1 word byte, 2 lead byte of a scoring letter. */
static unsigned char bytecls[256];
#endif
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;

/* Points for a two-byte UTF-8 letter that only one language uses; -1 if none.
 * Only slots_fill reads it, to build letters[]. */
static int letter_lang(unsigned char a, unsigned char b)
{
    unsigned cp = ((unsigned)(a & 0x1f) << 6) | (b & 0x3f);
    switch (cp) {
    case 0xe4: case 0xc4: /* ä Ä */
    case 0xdf:            /* ß */
        return LID_DE;
    case 0x105: case 0x104: case 0x119: case 0x118: case 0x142: case 0x141: /* ą ę ł */
    case 0x15b: case 0x15a: case 0x17c: case 0x17b: case 0x17a: case 0x179: /* ś ż ź */
    case 0x107: case 0x106: case 0x144: case 0x143:                         /* ć ń */
        return LID_PL;
    case 0x151: case 0x150: case 0x171: case 0x170: /* ő ű */
        return LID_HU;
    default:
        return -1;
    }
}

/* The key of the l-byte word at p (l <= 64; 0 or more than LID_KEY give the
 * key 0);
 * p[0..LID_KEY) must be readable. Or-ing 0x20 into bytes below 0x80 folds
 * upper case and changes no other word byte (lower case and the apostrophe
 * have the bit already); bytes from 0x80 keep theirs. Bytes past the word are
 * masked off. */
static inline lid_keyv lid_key(const unsigned char *p, size_t l)
{
    uint64_t lo;
    uint32_t hi;
    memcpy(&lo, p, 8);
    memcpy(&hi, p + 8, 4);
    lo |= (~lo & 0x8080808080808080u) >> 2;
    hi |= (~hi & 0x80808080u) >> 2;
    return (lid_keyv){lo & keymask[l].lo, hi & keymask[l].hi};
}

/* The hash's top 7 bits pick the bucket, bits 32..40 the slot before the
 * bucket's displacement. */
_Static_assert(LID_BUCKETS == 128 && LID_SLOTS == 512, "the bits below");
static inline uint64_t lid_hash(lid_keyv k, uint64_t mul)
{
    return (k.lo ^ k.hi) * mul; /* slots_fill checks that no two table keys share lo ^ hi */
}

static inline uint32_t lid_slot_of(uint64_t x)
{
    return ((uint32_t)(x >> 32) ^ displace[x >> 57]) & (LID_SLOTS - 1);
}

/* Tries to place every table word with the multiplier mul: buckets with
 * more words first, each with the first displacement that puts all its words
 * on free slots. 0 when some bucket has none (two of its words on one slot
 * whatever the displacement). */
static int place_words(uint64_t mul, const lid_keyv *keys)
{
    uint16_t order[N_WORDS], first[LID_BUCKETS + 1] = {0}, byb[N_WORDS];
    uint32_t home[N_WORDS]; /* slot before the displacement */
    unsigned char bucket[N_WORDS], size[LID_BUCKETS] = {0};
    unsigned most = 0;
    for (size_t i = 0; i < N_WORDS; i++) {
        uint64_t x = lid_hash(keys[i], mul);
        bucket[i] = (unsigned char)(x >> 57);
        home[i] = (uint32_t)(x >> 32) & (LID_SLOTS - 1);
        unsigned sz = ++size[bucket[i]];
        most = sz > most ? sz : most;
    }
    for (unsigned b = 0; b < LID_BUCKETS; b++) /* words by bucket */
        first[b + 1] = (uint16_t)(first[b] + size[b]);
    uint16_t fill[LID_BUCKETS];
    memcpy(fill, first, sizeof fill);
    for (size_t i = 0; i < N_WORDS; i++)
        byb[fill[bucket[i]]++] = (uint16_t)i;
    size_t n = 0; /* the words bucket by bucket, largest buckets first */
    for (unsigned sz = most; sz > 0; sz--)
        for (unsigned b = 0; b < LID_BUCKETS; b++)
            if (size[b] == sz)
                for (unsigned j = first[b]; j < first[b + 1]; j++)
                    order[n++] = byb[j];
    assert(n == N_WORDS);
    for (size_t k = 0; k < LID_SLOTS; k++)
        slots[k] = (lid_slot){0, 0, LID_NONE};
    memset(displace, 0, sizeof displace);
    for (size_t i = 0; i < n;) {
        unsigned b = bucket[order[i]], sz = size[b];
        unsigned d = 0;
        for (; d < LID_SLOTS; d++) {
            int ok = 1;
            for (unsigned j = 0; j < sz && ok; j++) {
                uint32_t k = home[order[i + j]] ^ d;
                ok = slots[k].lang == LID_NONE;
                for (unsigned j2 = 0; j2 < j && ok; j2++) /* two words of the bucket */
                    ok = k != (home[order[i + j2]] ^ d);
            }
            if (ok)
                break;
        }
        if (d == LID_SLOTS)
            return 0;
        displace[b] = (uint16_t)d;
        for (unsigned j = 0; j < sz; j++) {
            size_t w = order[i + j];
            uint32_t k = lid_slot_of(lid_hash(keys[w], mul));
            assert(k == (home[w] ^ d));
            slots[k] = (lid_slot){keys[w].lo, keys[w].hi, words[w].lang};
        }
        i += sz;
    }
    return 1;
}

static void slots_fill(void)
{
    for (size_t l = 0; l <= LID_KEY; l++) { /* the rest stays 0 */
        unsigned char b[LID_KEY] = {0};
        memset(b, 0xff, l);
        memcpy(&keymask[l].lo, b, 8);
        memcpy(&keymask[l].hi, b + 8, 4);
    }
    lid_keyv keys[N_WORDS];
    for (size_t i = 0; i < N_WORDS; i++) {
        unsigned char b[LID_KEY] = {0};
        size_t l = strlen(words[i].w);
        assert(l >= 1 && l <= LID_KEY);
        memcpy(b, words[i].w, l);
        keys[i] = lid_key(b, l);
        for (size_t j = 0; j < i; j++) /* no duplicates, not even of lo ^ hi */
            assert((keys[j].lo ^ keys[j].hi) != (keys[i].lo ^ keys[i].hi));
    }
    /* Odd multipliers from a fixed sequence until one places every word; one
     * in two or three does, so the loop is short and always ends the same. */
    uint64_t mul = 0x9e3779b97f4a7c15u;
    unsigned tries = 0;
    while (!place_words(mul, keys)) {
        mul += 0x632be59bd9b4e01au; /* even: mul stays odd */
        tries++;
        assert(tries < 1000);
    }
    hash_mul = mul;
    for (size_t i = 0; i < N_WORDS; i++) /* every word finds itself */
        assert(slots[lid_slot_of(lid_hash(keys[i], mul))].lang == words[i].lang);
    for (unsigned a = 0; a < 3; a++)
        for (unsigned b = 0; b < 256; b++) {
            int l = (b & 0xc0) == 0x80 ? letter_lang((unsigned char)(0xc3 + a), (unsigned char)b)
                                       : -1;
            letters[a][b] = (unsigned char)(l >= 0 ? l : LID_NONE);
        }
    /* No other lead byte scores: the letters are U+00C4..U+017C. */
    for (unsigned a = 0xc0; a < 0xe0; a++)
        for (unsigned b = 0x80; b < 0xc0; b++)
            assert((a >= 0xc3 && a <= 0xc5) ||
                   letter_lang((unsigned char)a, (unsigned char)b) < 0);
#if !defined(LID_SSE2)
    for (unsigned c = 0; c < 256; c++)
        bytecls[c] = (unsigned char)((((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '\'' ||
                                      c >= 0x80) |
                                     (c >= 0xc3 && c <= 0xc5) << 1);
#endif
}

/* Language (0..3) of the key, 4..7 when it is no table word (the key 0
 * included: its slot holds another word or is empty). No branch. */
static inline unsigned lookup(lid_keyv key)
{
    const lid_slot *e = &slots[lid_slot_of(lid_hash(key, hash_mul))];
    unsigned differ = ((e->lo ^ key.lo) | (e->hi ^ key.hi)) != 0;
    return e->lang | differ << 2;
}

/* Bit k of *wm: p[k] is a word byte; of *lm: p[k] is 0xc3..0xc5. p[0..64)
 * must be readable. */
static inline void lid_masks(const unsigned char *p, uint64_t *wm, uint64_t *lm)
{
    uint64_t w = 0, l = 0;
#if defined(LID_SSE2)
    for (unsigned k = 0; k < 64; k += 16) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
        const __m128i a = bytes_letters(v);
        const __m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('\''));
        const __m128i ld = bytes_in_range(v, 0xc3, 3);
        unsigned wk = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, q), v));
        w |= (uint64_t)wk << k;
        l |= (uint64_t)(unsigned)_mm_movemask_epi8(ld) << k;
    }
#else
    for (unsigned k = 0; k < 64; k++) {
        unsigned c = bytecls[p[k]];
        w |= (uint64_t)(c & 1) << k;
        l |= (uint64_t)(c >> 1) << k;
    }
#endif
    *wm = w;
    *lm = l;
}

/* One point to the language of the l-byte word at p (0 for a word too long
 * to be a table word, l <= 64); p[0..LID_KEY) must be readable. */
static inline void score_word(const unsigned char *p, size_t l, unsigned pts[8])
{
    pts[lookup(lid_key(p, l))]++;
}

redact_lang langid_guess(const char *text, size_t len, unsigned scores[4])
{
    static const redact_lang out[4] = {REDACT_LANG_DE, REDACT_LANG_EN, REDACT_LANG_PL,
                                       REDACT_LANG_HU};
    unsigned pts[8] = {0}; /* pts[4..7]: no point (lookup) */
    const unsigned char *s = (const unsigned char *)text;
    /* Windows from tb on, where a read could pass len (the window, the byte
     * after it, LID_KEY bytes from a word's start), read a copy padded with
     * zero bytes; before tb every such read stays below len. */
    const size_t tb = len >= LID_KEY ? (len - LID_KEY) & ~(size_t)63 : 0;
    unsigned char tail[2 * 64 + 16]; /* s[tb..len): at most 63 + LID_KEY bytes */
    const unsigned char *wp = s; /* start of a word that runs on past the window */
    size_t wstart = 0;
    uint64_t carry = 0; /* 1 when the byte before the window is a word byte */
    _Static_assert(64 + LID_KEY <= 2 * 64 && 2 * 64 + LID_KEY < sizeof tail, "tail's size");
    pthread_once(&slots_once, slots_fill);
#if defined(LID_SSE2)
    /* nine stores, written out: a memset or a loop of this size becomes rep
     * stos (23 instructions and a mispredicted branch per call in cachegrind) */
    _Static_assert(sizeof tail == 9 * 16, "nine stores");
    const __m128i z = _mm_setzero_si128();
    __m128i *t16 = (__m128i *)(void *)tail;
    _mm_storeu_si128(t16 + 0, z);
    _mm_storeu_si128(t16 + 1, z);
    _mm_storeu_si128(t16 + 2, z);
    _mm_storeu_si128(t16 + 3, z);
    _mm_storeu_si128(t16 + 4, z);
    _mm_storeu_si128(t16 + 5, z);
    _mm_storeu_si128(t16 + 6, z);
    _mm_storeu_si128(t16 + 7, z);
    _mm_storeu_si128(t16 + 8, z);
#else
    memset(tail, 0, sizeof tail);
#endif
    memcpy(tail, s + tb, len - tb);
    for (size_t base = 0; base < len; base += 64) {
        /* p[0..64 + LID_KEY) readable */
        const unsigned char *p = base < tb ? s + base : tail + (base - tb);
        uint64_t wm, lm;
        lid_masks(p, &wm, &lm);
        /* Letters: a lead byte and the byte after it (0 past len: no point). */
        while (lm) {
            unsigned k = (unsigned)__builtin_ctzll(lm);
            lm &= lm - 1;
            pts[letters[p[k] - 0xc3][p[k + 1]]]++;
        }
        /* Words: starts and ends alternate, so the k-th end closes the k-th
         * start, or first the word carried over from the previous window. */
        const uint64_t prev = (wm << 1) | carry;
        uint64_t starts = wm & ~prev, ends = ~wm & prev;
        if (carry && ends) {
            size_t l = base + (size_t)__builtin_ctzll(ends) - wstart;
            score_word(wp, l < 64 ? l : 64, pts);
            ends &= ends - 1;
        }
        while (ends) {
            unsigned k = (unsigned)__builtin_ctzll(starts);
            starts &= starts - 1;
            score_word(p + k, (unsigned)__builtin_ctzll(ends) - k, pts);
            ends &= ends - 1;
        }
        if (starts) { /* at most one start is left: a word running on */
            unsigned k = (unsigned)__builtin_ctzll(starts);
            wp = p + k;
            wstart = base + k;
        }
        carry = wm >> 63;
    }
    if (carry) { /* the text ends in a word, on a window's last byte */
        size_t l = len - wstart;
        score_word(wp, l < 64 ? l : 64, pts);
    }
    int best = 0, second = -1;
    for (int k = 1; k < 4; k++)
        if (pts[k] > pts[best])
            best = k;
    for (int k = 0; k < 4; k++)
        if (k != best && (second < 0 || pts[k] > pts[second]))
            second = k;
    if (scores)
        memcpy(scores, pts, 4 * sizeof pts[0]);
    if (pts[best] < LANGID_MIN || pts[best] < pts[second] + LANGID_MARGIN)
        return REDACT_LANG_AUTO;
    return out[best];
}
