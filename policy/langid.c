/* SPDX-License-Identifier: Apache-2.0 */
/*
 * langid: see langid.h. The word table is our own list of frequent function words
 * of each language; words shared by two of the four languages ("mit", "do", "is",
 * "ma", "mi") are left out because they cannot tell the languages apart.
 */
#include "langid.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

enum { LID_DE, LID_EN, LID_PL, LID_HU };

#define LANGID_MAXWORD 16 /* longer words are no function words */

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

/* Open addressing over words[]: slot holds index + 1, 0 is empty. Filled once
 * (pthread_once), then only read, so concurrent callers are safe. A binary
 * search with strncmp cost about as much as the scan of the message itself;
 * a hash computed while the word is read costs one probe, rarely two. */
#define LID_SLOTS 1024 /* a power of two, over four times the words */
_Static_assert(N_WORDS * 4 < LID_SLOTS, "the table stays sparse");
static uint16_t slots[LID_SLOTS];
static unsigned char lens[N_WORDS];
/* Per byte: its lower case when it belongs to a word (ASCII letters, the
 * apostrophe of "can't", every byte of a multi-byte character), else 0. */
static unsigned char lower[256];
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;

#define LID_HASH0 2166136261u /* FNV-1a */
static inline uint32_t lid_hash_step(uint32_t h, unsigned char c)
{
    return (h ^ c) * 16777619u;
}

static void slots_fill(void)
{
    for (unsigned c = 0; c < 256; c++)
        lower[c] = (unsigned char)((c >= 'A' && c <= 'Z') ? c | 0x20
                                   : ((c >= 'a' && c <= 'z') || c == '\'' || c >= 0x80) ? c
                                                                                          : 0);
    for (size_t i = 0; i < N_WORDS; i++) {
        const unsigned char *t = (const unsigned char *)words[i].w;
        uint32_t h = LID_HASH0;
        size_t l = 0;
        for (; t[l]; l++)
            h = lid_hash_step(h, t[l]);
        lens[i] = (unsigned char)l;
        uint32_t k = h & (LID_SLOTS - 1);
        while (slots[k])
            k = (k + 1) & (LID_SLOTS - 1);
        slots[k] = (uint16_t)(i + 1);
    }
}

/* Language of the word w (l bytes, hash h), -1 when it is not in the table. */
static int lookup(const char *w, size_t l, uint32_t h)
{
    for (uint32_t k = h & (LID_SLOTS - 1);; k = (k + 1) & (LID_SLOTS - 1)) {
        unsigned x = slots[k];
        if (!x)
            return -1;
        if (lens[x - 1] == l && memcmp(words[x - 1].w, w, l) == 0)
            return words[x - 1].lang;
    }
}

/* Points for a two-byte UTF-8 letter that only one language uses; -1 if none. */
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

redact_lang langid_guess(const char *text, size_t len, unsigned scores[4])
{
    static const redact_lang out[4] = {REDACT_LANG_DE, REDACT_LANG_EN, REDACT_LANG_PL,
                                       REDACT_LANG_HU};
    unsigned pts[4] = {0, 0, 0, 0};
    const unsigned char *s = (const unsigned char *)text;
    char w[LANGID_MAXWORD];
    size_t wl = 0;
    uint32_t h = LID_HASH0;
    int toolong = 0;
    pthread_once(&slots_once, slots_fill);
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? s[i] : ' ', lc = lower[c];
        if (lc) {
            if (c >= 0xc0 && c < 0xe0 && i + 1 < len && (s[i + 1] & 0xc0) == 0x80) {
                int l = letter_lang(c, s[i + 1]);
                if (l >= 0)
                    pts[l]++;
            }
            if (wl < sizeof w) {
                w[wl++] = (char)lc;
                h = lid_hash_step(h, lc);
            } else
                toolong = 1;
            continue;
        }
        if (wl && !toolong) {
            /* Upper-case non-ASCII first letters (Ó, Ś) stay as they are: function
             * words that start a sentence with one are rare enough to ignore. */
            int l = lookup(w, wl, h);
            if (l >= 0)
                pts[l]++;
        }
        wl = 0;
        h = LID_HASH0;
        toolong = 0;
    }
    int best = 0, second = -1;
    for (int k = 1; k < 4; k++)
        if (pts[k] > pts[best])
            best = k;
    for (int k = 0; k < 4; k++)
        if (k != best && (second < 0 || pts[k] > pts[second]))
            second = k;
    if (scores)
        memcpy(scores, pts, sizeof pts);
    if (pts[best] < LANGID_MIN || pts[best] < pts[second] + LANGID_MARGIN)
        return REDACT_LANG_AUTO;
    return out[best];
}
