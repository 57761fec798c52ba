/* words: what the app says to a person, in English or Chinese: events,
 * claims and actors in words, dates in local time. The service's answers
 * carry codes (actions, claim names); the person reads these. */
#ifndef CYBERID_APP_WORDS_H
#define CYBERID_APP_WORDS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum app_lang { APP_LANG_EN = 0, APP_LANG_ZH };

/* --lang (NULL: the environment's LC_ALL, LC_MESSAGES or LANG, Chinese
 * when it starts with "zh", else English). 0, or -1 for a language the
 * app does not speak. */
int words_language(const char *name, enum app_lang *out);

/* An audit action ("login.approved") in words; NULL when unknown (the
 * caller shows the code). */
const char *words_action(const char *action, enum app_lang lang);
/* A claim name ("age_over_18") in words; NULL when unknown. */
const char *words_claim(const char *claim, enum app_lang lang);
/* What a claim tells a platform, in words for a login's question
 * ("whether you are over 18", "您的姓名"); NULL when unknown. */
const char *words_claim_asked(const char *claim, enum app_lang lang);
/* Who acted, in words, into out: "you" for own ("citizen:<web number>"),
 * the operator, the system, an applicant, "platform <name>" (the
 * platform's registered name when known, else its client id). */
void words_actor(const char *actor, const char *own, const char *platform_name,
                 enum app_lang lang, char *out, size_t cap);
/* A unix time as local date and time ("2026-12-05 21:04:05" or
 * "2026年12月05日 21:04:05"). */
void words_time(int64_t seconds, enum app_lang lang, char *out, size_t cap);
/* Claim names (a JSON array's strings) in words, joined: into out. */
void words_claims(const json_t *claims, enum app_lang lang, char *out, size_t cap);

#endif
