/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rules: policy file parsing and the pure questions answered from it (see rules.h).
 *
 * The parsed policy is copied into plain C storage so the getters are cheap and the
 * jansson tree is released at the end of rules_parse. Defaults live in one place: the
 * built-in texts and values below, applied before the file's keys are read.
 * Not here: reading the file, time-zone conversion (the gateway does both).
 */
#include "rules.h"
#include "decide.h"

#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LANGS 4
#define MAX_SLOTS 4
#define MAX_EMERGENCY 8
#define MAX_CONTACTS 32
#define MAX_CLASSES 16
#define MAX_HOLIDAYS 64

static const char *const lang_codes[LANGS] = {"de", "en", "pl", "hu"};
static const char *const day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const channels[4] = {"web", "whatsapp", "messenger", "instagram"};

typedef struct {
    char *v[LANGS];   /* per language; German in the "Sie" form */
    char *de_du;      /* German "Du" form, when given */
} ltext;

typedef struct {
    short from, to; /* minutes since midnight, from < to */
} slot;

struct rules {
    char hash[65];
    char *label;
    char *tz;
    bool du;
    slot days[7][MAX_SLOTS];
    int nslots[7];
    int holidays[MAX_HOLIDAYS]; /* yyyymmdd */
    int nholidays;
    ltext texts[RULES_TEXT_COUNT];
    char *notice_version;
    char *emergency_num[MAX_EMERGENCY];
    ltext emergency_label[MAX_EMERGENCY];
    size_t nemergency;
    long first_reply_minutes;
    char *contacts[MAX_CONTACTS]; /* normalised */
    size_t ncontacts;
    char *country_code;
    char *class_name[MAX_CLASSES];
    long class_days[MAX_CLASSES];
    size_t nclasses;
    char *channel_default[4];
    decide_settings decisions;
    unsigned override_roles; /* RULES_ROLE_* */
    long suggest_every_s;
};

/* Built-in texts. German is written for "Sie"; "Du" variants follow. */
static const char *const default_texts[RULES_TEXT_COUNT][LANGS + 1] = {
    [RULES_TEXT_CLOSED_REPLY] =
        {"Vielen Dank für Ihre Nachricht. Wir sind gerade nicht erreichbar und antworten ab {next_open}. "
         "In einem Notfall wählen Sie bitte {emergency}.",
         "Thank you for your message. We are not available right now and will reply from {next_open}. "
         "In an emergency, please call {emergency}.",
         "Dziękujemy za wiadomość. Obecnie jesteśmy niedostępni i odpowiemy od {next_open}. "
         "W nagłym wypadku prosimy dzwonić pod {emergency}.",
         "Köszönjük üzenetét. Jelenleg nem vagyunk elérhetők, {next_open} időponttól válaszolunk. "
         "Vészhelyzetben kérjük, hívja a {emergency} számot.",
         "Danke für deine Nachricht. Wir sind gerade nicht erreichbar und antworten ab {next_open}. "
         "In einem Notfall wähle bitte {emergency}."},
    [RULES_TEXT_SECURE_CHANNEL] =
        {"Zum Schutz Ihrer Gesundheitsdaten schreiben Sie uns dazu bitte über den sicheren Chat auf unserer Website.",
         "To protect your health data, please write to us about this in the secure chat on our website.",
         "Aby chronić Państwa dane o zdrowiu, prosimy pisać w tej sprawie przez bezpieczny czat na naszej stronie.",
         "Egészségügyi adatai védelme érdekében kérjük, erről a weboldalunk biztonságos chatjén írjon nekünk.",
         "Zum Schutz deiner Gesundheitsdaten schreib uns dazu bitte über den sicheren Chat auf unserer Website."},
    [RULES_TEXT_MEDIA_REFUSED] =
        {"Bitte senden Sie Fotos und Dokumente nur über den sicheren Chat auf unserer Website.",
         "Please send photos and documents only through the secure chat on our website.",
         "Zdjęcia i dokumenty prosimy przesyłać wyłącznie przez bezpieczny czat na naszej stronie.",
         "Fényképeket és dokumentumokat kérjük, csak a weboldalunk biztonságos chatjén küldjön.",
         "Bitte schick Fotos und Dokumente nur über den sicheren Chat auf unserer Website."},
    [RULES_TEXT_PRIVACY_NOTICE] =
        {"Ihre Nachrichten werden verschlüsselt bei der Klinik gespeichert und nur vom Klinikteam gelesen. "
         "Bitte senden Sie keine Notfälle über den Chat.",
         "Your messages are stored encrypted at the clinic and read only by the clinic team. "
         "Please do not use the chat for emergencies.",
         "Wiadomości są przechowywane w klinice w postaci zaszyfrowanej i czytane wyłącznie przez zespół kliniki. "
         "Prosimy nie zgłaszać przez czat nagłych wypadków.",
         "Üzeneteit titkosítva tároljuk a klinikán, és csak a klinika csapata olvassa. "
         "Kérjük, vészhelyzetben ne a chatet használja.",
         "Deine Nachrichten werden verschlüsselt bei der Klinik gespeichert und nur vom Klinikteam gelesen. "
         "Bitte nutze den Chat nicht für Notfälle."},
};

static const char *const text_keys[RULES_TEXT_COUNT] = {"closed_reply", "secure_channel",
                                                        "media_refused", "privacy_notice"};

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

static void ltext_free(ltext *t)
{
    for (int i = 0; i < LANGS; i++) {
        free(t->v[i]);
        t->v[i] = NULL;
    }
    free(t->de_du);
    t->de_du = NULL;
}

void rules_free(rules *r)
{
    if (!r)
        return;
    free(r->label);
    free(r->tz);
    for (int i = 0; i < RULES_TEXT_COUNT; i++)
        ltext_free(&r->texts[i]);
    free(r->notice_version);
    for (size_t i = 0; i < r->nemergency; i++) {
        free(r->emergency_num[i]);
        ltext_free(&r->emergency_label[i]);
    }
    for (size_t i = 0; i < r->ncontacts; i++)
        free(r->contacts[i]);
    free(r->country_code);
    for (size_t i = 0; i < r->nclasses; i++)
        free(r->class_name[i]);
    for (int i = 0; i < 4; i++)
        free(r->channel_default[i]);
    free(r);
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return RULES_ERR_INVALID;
}

static int lang_index(const char *lang)
{
    for (int i = 0; i < LANGS; i++)
        if (lang && strncmp(lang, lang_codes[i], 2) == 0)
            return i;
    return -1;
}

/* A localised text: a string (all languages) or an object of language -> string, where
 * "de" may itself be {"Sie": …, "Du": …}. */
static int parse_ltext(json_t *v, ltext *t, const char *path, char *err, size_t errlen)
{
    if (json_is_string(v)) {
        ltext_free(t);
        for (int i = 0; i < LANGS; i++)
            t->v[i] = xstrdup(json_string_value(v));
        return 0;
    }
    if (!json_is_object(v))
        return fail(err, errlen, "%s: expected a string or an object of languages", path);
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        int li = lang_index(k);
        if (li < 0 || strlen(k) != 2)
            return fail(err, errlen, "%s.%s: unknown language (de, en, pl, hu)", path, k);
        if (li == 0 && json_is_object(x)) {
            json_t *sie = json_object_get(x, "Sie"), *du = json_object_get(x, "Du");
            if (!json_is_string(sie) || !json_is_string(du) || json_object_size(x) != 2)
                return fail(err, errlen, "%s.de: expected {\"Sie\": text, \"Du\": text}", path);
            free(t->v[0]);
            t->v[0] = xstrdup(json_string_value(sie));
            free(t->de_du);
            t->de_du = xstrdup(json_string_value(du));
            continue;
        }
        if (!json_is_string(x))
            return fail(err, errlen, "%s.%s: expected a string", path, k);
        free(t->v[li]);
        t->v[li] = xstrdup(json_string_value(x));
        if (li == 0) {
            free(t->de_du);
            t->de_du = NULL;
        }
    }
    return 0;
}

static int parse_hhmm(const char *s, short *out)
{
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return -1;
    *out = (short)(h * 60 + m);
    return 0;
}

static int parse_office(rules *r, json_t *v, char *err, size_t errlen)
{
    if (!json_is_object(v))
        return fail(err, errlen, "office_hours: expected an object of weekdays");
    for (int d = 0; d < 7; d++)
        r->nslots[d] = 0;
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        int d = -1;
        for (int i = 0; i < 7; i++)
            if (strcmp(k, day_names[i]) == 0)
                d = i;
        if (d < 0)
            return fail(err, errlen, "office_hours.%s: unknown day (mon … sun)", k);
        if (!json_is_array(x) || json_array_size(x) > MAX_SLOTS)
            return fail(err, errlen, "office_hours.%s: expected a list of at most %d \"HH:MM-HH:MM\"", k, MAX_SLOTS);
        size_t i;
        json_t *s;
        json_array_foreach(x, i, s)
        {
            const char *str = json_string_value(s);
            slot sl;
            if (!str || strlen(str) != 11 || str[5] != '-' || parse_hhmm(str, &sl.from) != 0 ||
                parse_hhmm(str + 6, &sl.to) != 0 || sl.from >= sl.to)
                return fail(err, errlen, "office_hours.%s[%zu]: expected HH:MM-HH:MM with start before end", k, i);
            r->days[d][r->nslots[d]++] = sl;
        }
    }
    return 0;
}

static int parse_date(const char *s)
{
    int y, m, d;
    char tail;
    if (!s || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || strlen(s) != 10 || m < 1 || m > 12 ||
        d < 1 || d > 31)
        return -1;
    return y * 10000 + m * 100 + d;
}

/* Normalises a contact for comparison: digits for phone numbers (country code applied),
 * lower case for e-mail, bare host/path for links. Writes into out (cap bytes). */
static void normalise_contact(const char *cc, const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    bool has_at = memchr(s, '@', len) != NULL;
    bool has_alpha = false;
    for (size_t i = 0; i < len; i++)
        if (isalpha((unsigned char)s[i]))
            has_alpha = true;
    if (!has_at && !has_alpha) { /* phone number */
        size_t i = 0;
        while (i < len && !isdigit((unsigned char)s[i]) && s[i] != '+')
            i++;
        bool intl = false;
        if (i < len && s[i] == '+') {
            intl = true;
            i++;
        } else if (i + 1 < len && s[i] == '0' && s[i + 1] == '0') {
            intl = true;
            i += 2;
        } else if (i < len && s[i] == '0') {
            i++; /* national trunk prefix: replace by the default country code */
        }
        if (!intl)
            for (const char *c = cc; *c && o + 1 < cap; c++)
                out[o++] = *c;
        for (; i < len && o + 1 < cap; i++)
            if (isdigit((unsigned char)s[i]))
                out[o++] = s[i];
        out[o] = '\0';
        return;
    }
    size_t i = 0;
    if (!has_at) {
        if (len >= 8 && strncasecmp(s, "https://", 8) == 0)
            i = 8;
        else if (len >= 7 && strncasecmp(s, "http://", 7) == 0)
            i = 7;
        if (len - i >= 4 && strncasecmp(s + i, "www.", 4) == 0)
            i += 4;
    }
    for (; i < len && o + 1 < cap; i++)
        out[o++] = (char)tolower((unsigned char)s[i]);
    while (o > 0 && out[o - 1] == '/')
        o--;
    out[o] = '\0';
}

static int set_defaults(rules *r)
{
    r->label = xstrdup("builtin");
    r->tz = xstrdup("Europe/Berlin");
    /* Mon-Fri 08:00-17:00 */
    for (int d = 1; d <= 5; d++) {
        r->days[d][0] = (slot){8 * 60, 17 * 60};
        r->nslots[d] = 1;
    }
    for (int t = 0; t < RULES_TEXT_COUNT; t++) {
        for (int l = 0; l < LANGS; l++)
            r->texts[t].v[l] = xstrdup(default_texts[t][l]);
        r->texts[t].de_du = xstrdup(default_texts[t][LANGS]);
    }
    r->notice_version = xstrdup("2026-01");
    static const char *const nums[2] = {"112", "116117"};
    static const char *const labels[2][LANGS] = {
        {"Notruf (Rettungsdienst, Feuerwehr)", "Emergency (ambulance, fire)", "Numer alarmowy",
         "Segélyhívó szám"},
        {"Ärztlicher Bereitschaftsdienst", "Out-of-hours medical service (Germany)",
         "Dyżur lekarski (Niemcy)", "Orvosi ügyelet (Németország)"}};
    for (int i = 0; i < 2; i++) {
        r->emergency_num[i] = xstrdup(nums[i]);
        for (int l = 0; l < LANGS; l++)
            r->emergency_label[i].v[l] = xstrdup(labels[i][l]);
    }
    r->nemergency = 2;
    r->first_reply_minutes = 30;
    r->country_code = xstrdup("49");
    static const char *const cls[3] = {"general", "appointment", "documentation"};
    static const long days[3] = {365, 90, 3650};
    for (int i = 0; i < 3; i++) {
        r->class_name[i] = xstrdup(cls[i]);
        r->class_days[i] = days[i];
    }
    r->nclasses = 3;
    for (int i = 0; i < 4; i++)
        r->channel_default[i] = xstrdup("general");
    decide_settings_default(&r->decisions);
    r->override_roles = RULES_ROLE_AGENT | RULES_ROLE_ADMIN;
    r->suggest_every_s = 24 * 3600;
    return 0;
}

/* ---- decisions (issue 6) ---------------------------------------------------------------
 * The privacy floor (SECURITY.md) is enforced here with an error that says why, and again
 * in decide_message: no value sends health data unredacted to a third-party platform, no
 * value unredacts previews, notifications, logs or analytics, and unofficial contacts stay
 * blocked. Keys that exist only to be refused when changed are listed in floor_keys so a
 * policy may spell the floor out. */

#define FLOOR_WHY "(privacy floor, see SECURITY.md)"

static const struct {
    const char *key, *value, *why;
} floor_keys[] = {
    {"unofficial_contacts", "block",
     "contact details that are not the clinic's official ones are never sent"},
    {"previews", "redact", "previews are always redacted"},
    {"notifications", "redact", "notifications are always redacted"},
    {"logs", "redact", "logs never carry message text"},
    {"analytics", "redact", "analytics only ever see categories and counts"},
};

static const struct {
    const char *name;
    decide_action action;
} action_names[] = {
    {"allow", DECIDE_ALLOW},
    {"redact", DECIDE_REDACT},
    {"block", DECIDE_BLOCK},
    {"needs_confirmation", DECIDE_NEEDS_CONFIRMATION},
};

static int platform_index(const char *k)
{
    for (int c = 1; c < 4; c++) /* channels[0] is the web chat */
        if (strcmp(k, channels[c]) == 0)
            return c;
    return -1;
}

static int channel_key(const char *path, const char *k, char *err, size_t errlen)
{
    if (strcmp(k, "web") == 0)
        return fail(err, errlen, "%s.web: the web chat is the clinic's secure channel; its "
                                 "decisions are fixed (allow, stored sealed)", path);
    int c = platform_index(k);
    if (c < 0)
        return fail(err, errlen, "%s.%s: unknown channel (whatsapp, messenger, instagram)", path, k);
    return c;
}

/* "block" | "needs_confirmation" | "redact" for one outbound key; "allow" is refused
 * with floor_msg (health) or as not offered (identifiers). */
static int parse_outbound_action(json_t *v, const char *path, bool health, decide_action *out,
                                 char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    for (size_t i = 0; s && i < sizeof action_names / sizeof action_names[0]; i++)
        if (strcmp(s, action_names[i].name) == 0) {
            if (action_names[i].action == DECIDE_ALLOW) {
                if (health)
                    return fail(err, errlen, "%s: \"allow\" would send health data unredacted to a "
                                             "third-party platform " FLOOR_WHY "; use block, "
                                             "needs_confirmation or redact", path);
                return fail(err, errlen, "%s: \"allow\" is not offered: an id or IBAN goes to a "
                                         "platform only after the sender confirms; use "
                                         "needs_confirmation, block or redact", path);
            }
            *out = action_names[i].action;
            return 0;
        }
    return fail(err, errlen, "%s: expected \"block\", \"needs_confirmation\" or \"redact\"", path);
}

static int parse_outbound(rules *r, json_t *v, char *err, size_t errlen)
{
    if (!json_is_object(v))
        return fail(err, errlen, "decisions.outbound: expected an object of channel: settings");
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        int c = channel_key("decisions.outbound", k, err, errlen);
        if (c < 0)
            return c;
        if (!json_is_object(x))
            return fail(err, errlen, "decisions.outbound.%s: expected an object (health, "
                                     "health_override, identifiers)", k);
        const char *sk;
        json_t *sv;
        json_object_foreach(x, sk, sv)
        {
            char path[96];
            snprintf(path, sizeof path, "decisions.outbound.%s.%s", k, sk);
            int rc = 0;
            if (strcmp(sk, "health") == 0) {
                rc = parse_outbound_action(sv, path, true, &r->decisions.outbound_health[c], err,
                                           errlen);
            } else if (strcmp(sk, "identifiers") == 0) {
                rc = parse_outbound_action(sv, path, false, &r->decisions.outbound_identifiers[c],
                                           err, errlen);
            } else if (strcmp(sk, "health_override") == 0) {
                if (!json_is_boolean(sv))
                    return fail(err, errlen, "%s: expected true or false", path);
                r->decisions.health_override[c] = json_is_true(sv);
            } else {
                return fail(err, errlen, "%s: unknown key (health, health_override, identifiers)",
                            path);
            }
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int parse_inbound(rules *r, json_t *v, char *err, size_t errlen)
{
    if (!json_is_object(v))
        return fail(err, errlen, "decisions.inbound: expected an object of channel: settings");
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        int c = channel_key("decisions.inbound", k, err, errlen);
        if (c < 0)
            return c;
        if (!json_is_object(x))
            return fail(err, errlen, "decisions.inbound.%s: expected an object "
                                     "(suggest_secure_chat)", k);
        const char *sk;
        json_t *sv;
        json_object_foreach(x, sk, sv)
        {
            if (strcmp(sk, "suggest_secure_chat") != 0)
                return fail(err, errlen, "decisions.inbound.%s.%s: unknown key "
                                         "(suggest_secure_chat; what patients write is always "
                                         "stored sealed and previewed redacted)", k, sk);
            if (!json_is_boolean(sv))
                return fail(err, errlen, "decisions.inbound.%s.%s: expected true or false", k, sk);
            r->decisions.suggest_secure[c] = json_is_true(sv);
        }
    }
    return 0;
}

static int parse_decisions(rules *r, json_t *v, char *err, size_t errlen)
{
    if (!json_is_object(v))
        return fail(err, errlen, "decisions: expected an object");
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        int rc = 0;
        bool floor = false;
        for (size_t i = 0; i < sizeof floor_keys / sizeof floor_keys[0]; i++) {
            if (strcmp(k, floor_keys[i].key) != 0)
                continue;
            floor = true;
            if (!json_is_string(x) || strcmp(json_string_value(x), floor_keys[i].value) != 0)
                return fail(err, errlen, "decisions.%s: only \"%s\" is allowed: %s " FLOOR_WHY, k,
                            floor_keys[i].value, floor_keys[i].why);
        }
        if (floor)
            continue;
        if (strcmp(k, "outbound") == 0) {
            rc = parse_outbound(r, x, err, errlen);
        } else if (strcmp(k, "inbound") == 0) {
            rc = parse_inbound(r, x, err, errlen);
        } else if (strcmp(k, "override_roles") == 0) {
            if (!json_is_array(x))
                return fail(err, errlen, "decisions.override_roles: expected a list of roles "
                                         "(agent, admin)");
            r->override_roles = 0;
            size_t i;
            json_t *e;
            json_array_foreach(x, i, e)
            {
                const char *s = json_string_value(e);
                if (s && strcmp(s, "agent") == 0)
                    r->override_roles |= RULES_ROLE_AGENT;
                else if (s && strcmp(s, "admin") == 0)
                    r->override_roles |= RULES_ROLE_ADMIN;
                else if (s && strcmp(s, "dpo") == 0)
                    return fail(err, errlen, "decisions.override_roles[%zu]: the DPO role cannot "
                                             "write messages, so it cannot confirm or override", i);
                else
                    return fail(err, errlen, "decisions.override_roles[%zu]: expected \"agent\" or "
                                             "\"admin\"", i);
            }
        } else if (strcmp(k, "suggest_secure_chat_every_hours") == 0) {
            if (!json_is_integer(x) || json_integer_value(x) < 1 || json_integer_value(x) > 8760)
                return fail(err, errlen, "decisions.suggest_secure_chat_every_hours: expected an "
                                         "integer from 1 to 8760");
            r->suggest_every_s = (long)json_integer_value(x) * 3600;
        } else {
            return fail(err, errlen, "decisions.%s: unknown key (outbound, inbound, "
                                     "override_roles, suggest_secure_chat_every_hours, "
                                     "unofficial_contacts, previews, notifications, logs, "
                                     "analytics)", k);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_root(rules *r, json_t *root, char *err, size_t errlen)
{
    if (!json_is_object(root))
        return fail(err, errlen, "policy: expected a JSON object at the top");
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (strcmp(k, "version") == 0) {
            if (!json_is_string(v))
                return fail(err, errlen, "version: expected a string");
            free(r->label);
            r->label = xstrdup(json_string_value(v));
        } else if (strcmp(k, "timezone") == 0) {
            if (!json_is_string(v) || !*json_string_value(v) || strstr(json_string_value(v), ".."))
                return fail(err, errlen, "timezone: expected an IANA zone name such as Europe/Berlin");
            free(r->tz);
            r->tz = xstrdup(json_string_value(v));
        } else if (strcmp(k, "address_form") == 0) {
            const char *s = json_string_value(v);
            if (!s || (strcmp(s, "Sie") != 0 && strcmp(s, "Du") != 0))
                return fail(err, errlen, "address_form: expected \"Sie\" or \"Du\"");
            r->du = strcmp(s, "Du") == 0;
        } else if (strcmp(k, "office_hours") == 0) {
            int rc = parse_office(r, v, err, errlen);
            if (rc)
                return rc;
        } else if (strcmp(k, "holidays") == 0) {
            if (!json_is_array(v) || json_array_size(v) > MAX_HOLIDAYS)
                return fail(err, errlen, "holidays: expected a list of at most %d dates YYYY-MM-DD", MAX_HOLIDAYS);
            size_t i;
            json_t *x;
            r->nholidays = 0;
            json_array_foreach(v, i, x)
            {
                int d = parse_date(json_string_value(x));
                if (d < 0)
                    return fail(err, errlen, "holidays[%zu]: expected YYYY-MM-DD", i);
                r->holidays[r->nholidays++] = d;
            }
        } else if (strcmp(k, "texts") == 0) {
            if (!json_is_object(v))
                return fail(err, errlen, "texts: expected an object");
            const char *tk;
            json_t *tv;
            json_object_foreach(v, tk, tv)
            {
                int id = -1;
                for (int t = 0; t < RULES_TEXT_COUNT; t++)
                    if (strcmp(tk, text_keys[t]) == 0)
                        id = t;
                if (id < 0)
                    return fail(err, errlen, "texts.%s: unknown text (closed_reply, secure_channel, media_refused, privacy_notice)", tk);
                char path[96];
                snprintf(path, sizeof path, "texts.%s", tk);
                int rc = parse_ltext(tv, &r->texts[id], path, err, errlen);
                if (rc)
                    return rc;
            }
        } else if (strcmp(k, "privacy_notice_version") == 0) {
            if (!json_is_string(v) || !*json_string_value(v))
                return fail(err, errlen, "privacy_notice_version: expected a non-empty string");
            free(r->notice_version);
            r->notice_version = xstrdup(json_string_value(v));
        } else if (strcmp(k, "emergency_numbers") == 0) {
            if (!json_is_array(v) || json_array_size(v) > MAX_EMERGENCY)
                return fail(err, errlen, "emergency_numbers: expected a list of at most %d entries", MAX_EMERGENCY);
            for (size_t i = 0; i < r->nemergency; i++) {
                free(r->emergency_num[i]);
                r->emergency_num[i] = NULL;
                ltext_free(&r->emergency_label[i]);
            }
            r->nemergency = 0;
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x)
            {
                json_t *num = json_object_get(x, "number"), *lab = json_object_get(x, "label");
                if (!json_is_string(num) || !lab)
                    return fail(err, errlen, "emergency_numbers[%zu]: expected {\"number\": text, \"label\": text or languages}", i);
                char path[64];
                snprintf(path, sizeof path, "emergency_numbers[%zu].label", i);
                r->emergency_num[r->nemergency] = xstrdup(json_string_value(num));
                int rc = parse_ltext(lab, &r->emergency_label[r->nemergency], path, err, errlen);
                r->nemergency++;
                if (rc)
                    return rc;
            }
        } else if (strcmp(k, "first_reply_minutes") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 10080)
                return fail(err, errlen, "first_reply_minutes: expected an integer from 1 to 10080");
            r->first_reply_minutes = (long)json_integer_value(v);
        } else if (strcmp(k, "country_code") == 0) {
            const char *s = json_string_value(v);
            if (!s || !*s || strlen(s) > 3 || strspn(s, "0123456789") != strlen(s))
                return fail(err, errlen, "country_code: expected 1-3 digits such as \"49\"");
            free(r->country_code);
            r->country_code = xstrdup(s);
        } else if (strcmp(k, "official_contacts") == 0) {
            if (!json_is_array(v) || json_array_size(v) > MAX_CONTACTS)
                return fail(err, errlen, "official_contacts: expected a list of at most %d strings", MAX_CONTACTS);
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x)
            {
                if (!json_is_string(x) || !*json_string_value(x))
                    return fail(err, errlen, "official_contacts[%zu]: expected a phone number, e-mail or link", i);
            }
            /* normalised after the loop: country_code may come later in the object */
        } else if (strcmp(k, "retention") == 0) {
            json_t *cls = json_object_get(v, "classes"), *def = json_object_get(v, "defaults");
            if (!json_is_object(v) || !json_is_object(cls) || json_object_size(cls) == 0 ||
                json_object_size(cls) > MAX_CLASSES ||
                json_object_size(v) != (size_t)(1 + (def != NULL)))
                return fail(err, errlen, "retention: expected {\"classes\": {name: days}, \"defaults\": {channel: class}}");
            for (size_t i = 0; i < r->nclasses; i++)
                free(r->class_name[i]);
            r->nclasses = 0;
            const char *ck;
            json_t *cv;
            json_object_foreach(cls, ck, cv)
            {
                if (!json_is_integer(cv) || json_integer_value(cv) < 0 || json_integer_value(cv) > 36500 || !*ck)
                    return fail(err, errlen, "retention.classes.%s: expected days from 0 to 36500", ck);
                r->class_name[r->nclasses] = xstrdup(ck);
                r->class_days[r->nclasses++] = (long)json_integer_value(cv);
            }
            if (def) {
                if (!json_is_object(def))
                    return fail(err, errlen, "retention.defaults: expected an object of channel: class");
                json_object_foreach(def, ck, cv)
                {
                    int ch = -1;
                    for (int c = 0; c < 4; c++)
                        if (strcmp(ck, channels[c]) == 0)
                            ch = c;
                    if (ch < 0)
                        return fail(err, errlen, "retention.defaults.%s: unknown channel", ck);
                    if (!json_is_string(cv))
                        return fail(err, errlen, "retention.defaults.%s: expected a class name", ck);
                    free(r->channel_default[ch]);
                    r->channel_default[ch] = xstrdup(json_string_value(cv));
                }
            }
            for (int c = 0; c < 4; c++) {
                long d;
                if (!rules_retention_days(r, r->channel_default[c], &d))
                    return fail(err, errlen, "retention.defaults.%s: class '%s' is not defined", channels[c],
                                r->channel_default[c]);
            }
        } else if (strcmp(k, "decisions") == 0) {
            int rc = parse_decisions(r, v, err, errlen);
            if (rc)
                return rc;
        } else {
            return fail(err, errlen, "%s: unknown key", k);
        }
    }
    json_t *oc = json_object_get(root, "official_contacts");
    size_t i;
    json_t *x;
    json_array_foreach(oc, i, x)
    {
        char norm[256];
        const char *s = json_string_value(x);
        normalise_contact(r->country_code, s, strlen(s), norm, sizeof norm);
        r->contacts[r->ncontacts++] = xstrdup(norm);
    }
    return 0;
}

int rules_parse(const char *json, size_t len, rules **out, char *err, size_t errlen)
{
    *out = NULL;
    if (sodium_init() < 0)
        return fail(err, errlen, "libsodium failed to initialise");
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "policy: line %d column %d: %s", je.line, je.column, je.text);
        return RULES_ERR_SYNTAX;
    }
    rules *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    set_defaults(r);
    int rc = parse_root(r, root, err, errlen);
    json_decref(root);
    if (rc != 0) {
        rules_free(r);
        return rc;
    }
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)json, len, NULL, 0);
    sodium_bin2hex(r->hash, sizeof r->hash, h, sizeof h);
    *out = r;
    return RULES_OK;
}

const char *rules_version_hash(const rules *r)
{
    return r->hash;
}

const char *rules_version_label(const rules *r)
{
    return r->label;
}

const char *rules_timezone(const rules *r)
{
    return r->tz;
}

const char *rules_address_form(const rules *r)
{
    return r->du ? "Du" : "Sie";
}

static bool is_holiday(const rules *r, int ymd)
{
    for (int i = 0; i < r->nholidays; i++)
        if (r->holidays[i] == ymd)
            return true;
    return false;
}

/* Civil-date arithmetic without the C library's time zone: days from 1970-01-01. */
static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

void rules_office_state(const rules *r, const struct tm *now, bool *open, struct tm *next_open,
                        bool *has_next)
{
    int minute = now->tm_hour * 60 + now->tm_min;
    long day0 = days_from_civil(now->tm_year + 1900, now->tm_mon + 1, now->tm_mday);
    int ymd0 = (now->tm_year + 1900) * 10000 + (now->tm_mon + 1) * 100 + now->tm_mday;
    int wd0 = now->tm_wday;
    *open = false;
    if (!is_holiday(r, ymd0))
        for (int i = 0; i < r->nslots[wd0]; i++)
            if (minute >= r->days[wd0][i].from && minute < r->days[wd0][i].to)
                *open = true;
    if (has_next)
        *has_next = false;
    if (*open || !next_open)
        return;
    for (int k = 0; k <= 14; k++) {
        int y, m, d;
        civil_from_days(day0 + k, &y, &m, &d);
        int wd = (wd0 + k) % 7;
        if (is_holiday(r, y * 10000 + m * 100 + d))
            continue;
        int best = -1;
        for (int i = 0; i < r->nslots[wd]; i++) {
            int from = r->days[wd][i].from;
            if (k == 0 && from <= minute)
                continue;
            if (best < 0 || from < best)
                best = from;
        }
        if (best >= 0) {
            memset(next_open, 0, sizeof *next_open);
            next_open->tm_year = y - 1900;
            next_open->tm_mon = m - 1;
            next_open->tm_mday = d;
            next_open->tm_wday = wd;
            next_open->tm_hour = best / 60;
            next_open->tm_min = best % 60;
            next_open->tm_isdst = -1;
            if (has_next)
                *has_next = true;
            return;
        }
    }
}

static const char *ltext_get(const rules *r, const ltext *t, const char *lang)
{
    int li = lang_index(lang);
    if (li == 0 && r->du && t->de_du)
        return t->de_du;
    if (li >= 0 && t->v[li])
        return t->v[li];
    if (t->v[1])
        return t->v[1];
    return t->v[0] ? t->v[0] : "";
}

const char *rules_text(const rules *r, rules_text_id id, const char *lang)
{
    if ((int)id < 0 || id >= RULES_TEXT_COUNT)
        return "";
    return ltext_get(r, &r->texts[id], lang);
}

const char *rules_privacy_notice_version(const rules *r)
{
    return r->notice_version;
}

size_t rules_emergency_count(const rules *r)
{
    return r->nemergency;
}

const char *rules_emergency_number(const rules *r, size_t i)
{
    return i < r->nemergency ? r->emergency_num[i] : NULL;
}

const char *rules_emergency_label(const rules *r, size_t i, const char *lang)
{
    return i < r->nemergency ? ltext_get(r, &r->emergency_label[i], lang) : NULL;
}

long rules_first_reply_minutes(const rules *r)
{
    return r->first_reply_minutes;
}

bool rules_is_official_contact(const rules *r, const char *s, size_t len)
{
    char norm[256];
    normalise_contact(r->country_code, s, len, norm, sizeof norm);
    if (!*norm)
        return false;
    for (size_t i = 0; i < r->ncontacts; i++)
        if (strcmp(norm, r->contacts[i]) == 0)
            return true;
    return false;
}

bool rules_retention_days(const rules *r, const char *cls, long *days)
{
    for (size_t i = 0; i < r->nclasses; i++)
        if (cls && strcmp(r->class_name[i], cls) == 0) {
            *days = r->class_days[i];
            return true;
        }
    return false;
}

const char *rules_retention_default(const rules *r, const char *channel)
{
    for (int c = 0; c < 4; c++)
        if (channel && strcmp(channel, channels[c]) == 0)
            return r->channel_default[c];
    return r->channel_default[0];
}

size_t rules_retention_count(const rules *r)
{
    return r->nclasses;
}

const char *rules_retention_name(const rules *r, size_t i)
{
    return i < r->nclasses ? r->class_name[i] : NULL;
}

const decide_settings *rules_decisions(const rules *r)
{
    return &r->decisions;
}

bool rules_may_override(const rules *r, const char *role)
{
    if (!role)
        return false;
    if (strcmp(role, "agent") == 0)
        return (r->override_roles & RULES_ROLE_AGENT) != 0;
    if (strcmp(role, "admin") == 0)
        return (r->override_roles & RULES_ROLE_ADMIN) != 0;
    return false;
}

long rules_suggest_secure_every_s(const rules *r)
{
    return r->suggest_every_s;
}
