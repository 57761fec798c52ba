/* national_id: GB 11643-1999 validation; see national_id.h. */
#include "enroll/national_id.h"

#include <string.h>
#include <time.h>

static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
static const char check_characters[] = "10X98765432";

char
national_id_check_character(const char digits[17])
{
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return 0;
        sum += (digits[i] - '0') * weights[i];
    }
    return check_characters[sum % 11];
}

int
calendar_date_is_valid(int year, int month, int day)
{
    static const int days_in_month[12] = {31, 28, 31, 30, 31, 30,
                                          31, 31, 30, 31, 30, 31};
    if (year < 1 || month < 1 || month > 12 || day < 1)
        return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int last = days_in_month[month - 1] + (month == 2 && leap);
    return day <= last;
}

static int
digits_value(const char *text, int count)
{
    int value = 0;
    for (int i = 0; i < count; i++)
        value = value * 10 + (text[i] - '0');
    return value;
}

enum national_id_status
national_id_parse(const char *text, size_t length, int today_year,
                  int today_month, int today_day, struct national_id *out)
{
    if (length != NATIONAL_ID_LENGTH)
        return NATIONAL_ID_BAD_LENGTH;
    for (int i = 0; i < 17; i++)
        if (text[i] < '0' || text[i] > '9')
            return NATIONAL_ID_BAD_CHARACTER;
    char last = text[17] == 'x' ? 'X' : text[17];
    if ((last < '0' || last > '9') && last != 'X')
        return NATIONAL_ID_BAD_CHARACTER;

    /* Province codes run from 11 (Beijing) to 91; 00 and 10 are unused. */
    int province = digits_value(text, 2);
    if (province < 11 || province > 91)
        return NATIONAL_ID_BAD_REGION;

    int year = digits_value(text + 6, 4);
    int month = digits_value(text + 10, 2);
    int day = digits_value(text + 12, 2);
    if (year < NATIONAL_ID_EARLIEST_BIRTH_YEAR ||
        !calendar_date_is_valid(year, month, day))
        return NATIONAL_ID_BAD_DATE;
    long birth = (long)year * 10000 + month * 100 + day;
    long today = (long)today_year * 10000 + today_month * 100 + today_day;
    if (birth > today)
        return NATIONAL_ID_BAD_DATE;

    if (national_id_check_character(text) != last)
        return NATIONAL_ID_BAD_CHECK;

    memcpy(out->text, text, 17);
    out->text[17] = last;
    out->text[18] = '\0';
    out->birth_year = year;
    out->birth_month = month;
    out->birth_day = day;
    out->male = (text[16] - '0') % 2 == 1;
    return NATIONAL_ID_OK;
}

enum national_id_status
national_id_parse_now(const char *text, size_t length, struct national_id *out)
{
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    return national_id_parse(text, length, utc.tm_year + 1900, utc.tm_mon + 1,
                             utc.tm_mday, out);
}

const char *
national_id_status_code(enum national_id_status status)
{
    switch (status) {
    case NATIONAL_ID_OK: return "ok";
    case NATIONAL_ID_BAD_LENGTH: return "invalid_length";
    case NATIONAL_ID_BAD_CHARACTER: return "invalid_character";
    case NATIONAL_ID_BAD_REGION: return "invalid_region";
    case NATIONAL_ID_BAD_DATE: return "invalid_birth_date";
    case NATIONAL_ID_BAD_CHECK: return "invalid_check_character";
    }
    return "invalid";
}

const char *
national_id_status_message(enum national_id_status status)
{
    switch (status) {
    case NATIONAL_ID_OK: return "valid";
    case NATIONAL_ID_BAD_LENGTH: return "the ID number must be 18 characters";
    case NATIONAL_ID_BAD_CHARACTER:
        return "the ID number must be 17 digits followed by a digit or X";
    case NATIONAL_ID_BAD_REGION: return "the region code is not a valid one";
    case NATIONAL_ID_BAD_DATE:
        return "the birth date in the ID number is not a real past date";
    case NATIONAL_ID_BAD_CHECK:
        return "the check character does not match (ISO 7064 MOD 11-2)";
    }
    return "invalid ID number";
}
