/* words: the app's words for a person; see words.h. */
#include "app/words.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
words_language(const char *name, enum app_lang *out)
{
    if (name == NULL) {
        static const char *const variables[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
        for (size_t i = 0; i < sizeof variables / sizeof *variables && name == NULL; i++) {
            const char *value = getenv(variables[i]);
            if (value != NULL && value[0] != '\0')
                name = value;
        }
        *out = name != NULL && strncmp(name, "zh", 2) == 0 ? APP_LANG_ZH : APP_LANG_EN;
        return 0;
    }
    if (strcmp(name, "en") == 0)
        *out = APP_LANG_EN;
    else if (strcmp(name, "zh") == 0)
        *out = APP_LANG_ZH;
    else
        return -1;
    return 0;
}

struct phrase {
    const char *code, *en, *zh;
};

static const char *
lookup(const struct phrase *table, size_t count, const char *code, enum app_lang lang)
{
    for (size_t i = 0; code != NULL && i < count; i++)
        if (strcmp(table[i].code, code) == 0)
            return lang == APP_LANG_ZH ? table[i].zh : table[i].en;
    return NULL;
}

const char *
words_action(const char *action, enum app_lang lang)
{
    static const struct phrase actions[] = {
        {"identity.enroll", "enrolled: this web number was made", "注册：生成了此网号"},
        {"device.enroll", "a device was enrolled", "登记了一台设备"},
        {"device.rekey", "this device got a new key and certificate", "此设备换了新密钥和证书"},
        {"device.rekey_refused", "a re-key was refused", "换密钥被拒绝"},
        {"device.revoke", "a device was revoked", "注销了一台设备"},
        {"enroll.refused", "an enrollment with your ID number was refused",
         "用您的身份证号注册被拒绝"},
        {"claims.disclosed", "claims were released to a platform", "向平台提供了信息"},
        {"login.approved", "a login was approved", "批准了一次登录"},
        {"login.denied", "a login was denied", "拒绝了一次登录"},
        {"login.refused", "a login was refused: your identity was locked or suspended",
         "一次登录被拒绝：您的身份已锁定或暂停"},
        {"grant.revoke", "a platform's access was revoked", "撤销了平台的访问权"},
        {"token.revoke", "a platform gave back a token", "平台交回了一个令牌"},
        {"identity.read", "your record was read", "您的记录被查阅"},
        {"identity.events_read", "your events were read", "您的事件记录被查阅"},
        {"log.events_read", "your events were read in an inquiry", "您的事件记录在调查中被查阅"},
        {"identity.find", "your record was looked up by ID number", "有人用身份证号查找了您的记录"},
        {"identity.suspend", "your identity was suspended", "您的身份被暂停"},
        {"identity.suspension_ended", "your suspension ended", "您的暂停已结束"},
        {"identity.reinstate", "your identity was reinstated", "您的身份被恢复"},
        {"identity.revoke", "your identity was revoked", "您的身份被注销"},
        {"identity.lock", "you locked your identity", "您锁定了身份"},
        {"identity.unlock", "you unlocked your identity", "您解锁了身份"},
        {"identity.unlock_refused", "an unlock was refused", "解锁被拒绝"},
        {"identity.deactivate", "you deactivated your identity", "您停用了身份"},
        {"identity.reactivate", "you enrolled again: your identity is active",
         "您重新注册：身份已启用"},
        {"consent.withdraw", "you withdrew a platform's consent", "您撤回了对平台的授权"},
        {"appeal.filed", "you appealed", "您提出了申诉"},
        {"appeal.read", "your appeal was read", "您的申诉被查阅"},
        {"appeal.decided", "your appeal was decided", "您的申诉已有决定"},
    };
    return lookup(actions, sizeof actions / sizeof *actions, action, lang);
}

const char *
words_claim(const char *claim, enum app_lang lang)
{
    static const struct phrase claims[] = {
        {"realname_verified", "real-name verified", "已实名认证"},
        {"age_over_14", "over 14", "已满14周岁"},
        {"age_over_18", "over 18", "已满18周岁"},
        {"birth_year", "year of birth", "出生年份"},
        {"name", "name", "姓名"},
        {"national_id", "ID number", "身份证号"},
    };
    return lookup(claims, sizeof claims / sizeof *claims, claim, lang);
}

const char *
words_claim_asked(const char *claim, enum app_lang lang)
{
    static const struct phrase claims[] = {
        {"realname_verified", "that your real name is verified (not the name itself)",
         "您已通过实名认证（不含姓名本身）"},
        {"age_over_14", "whether you are over 14", "您是否已满14周岁"},
        {"age_over_18", "whether you are over 18", "您是否已满18周岁"},
        {"birth_year", "your year of birth", "您的出生年份"},
        {"name", "your full name", "您的姓名"},
        {"national_id", "your national ID number", "您的身份证号码"},
    };
    return lookup(claims, sizeof claims / sizeof *claims, claim, lang);
}

void
words_actor(const char *actor, const char *own, const char *platform_name, enum app_lang lang,
            char *out, size_t cap)
{
    int zh = lang == APP_LANG_ZH;
    if (actor == NULL)
        snprintf(out, cap, "?");
    else if (own != NULL && strcmp(actor, own) == 0)
        snprintf(out, cap, "%s", zh ? "您" : "you");
    else if (strcmp(actor, "operator") == 0)
        snprintf(out, cap, "%s", zh ? "运营方" : "the operator");
    else if (strncmp(actor, "operator:", 9) == 0)
        snprintf(out, cap, "%s %s", zh ? "运营方" : "the operator,", actor + 9);
    else if (strcmp(actor, "system") == 0)
        snprintf(out, cap, "%s", zh ? "系统" : "the system");
    else if (strcmp(actor, "applicant") == 0)
        snprintf(out, cap, "%s", zh ? "申请人" : "an applicant");
    else if (strncmp(actor, "platform:", 9) == 0)
        snprintf(out, cap, "%s %s", zh ? "平台" : "platform",
                 platform_name != NULL ? platform_name : actor + 9);
    else
        snprintf(out, cap, "%s", actor);
}

void
words_time(int64_t seconds, enum app_lang lang, char *out, size_t cap)
{
    time_t when = (time_t)seconds;
    struct tm local;
    out[0] = '\0';
    if (localtime_r(&when, &local) != NULL)
        strftime(out, cap, lang == APP_LANG_ZH ? "%Y年%m月%d日 %H:%M:%S" : "%Y-%m-%d %H:%M:%S",
                 &local);
}

void
words_claims(const json_t *claims, enum app_lang lang, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; json_is_array(claims) && i < json_array_size(claims) && at + 1 < cap;
         i++) {
        const char *name = json_string_value(json_array_get(claims, i));
        const char *words = words_claim(name, lang);
        int n = snprintf(out + at, cap - at, "%s%s", i == 0 ? "" : (lang == APP_LANG_ZH ? "、" : ", "),
                         words ? words : (name ? name : "?"));
        if (n < 0 || (size_t)n >= cap - at) {
            out[at] = '\0';
            return;
        }
        at += (size_t)n;
    }
}
