/* national_id: the 18-character citizen identity number of GB 11643-1999.
 *
 *   RRRRRR YYYYMMDD SSS C
 *   region birth    seq check
 *
 * The sequence is odd for men, even for women. The check character is ISO
 * 7064 MOD 11-2 over the first 17 digits (weights 7 9 10 5 8 4 2 1 6 3 7 9
 * 10 5 8 4 2; the weighted sum mod 11 indexes "10X98765432"). A lower-case
 * 'x' is accepted as input and normalised to 'X'. */
#ifndef CYBERID_NATIONAL_ID_H
#define CYBERID_NATIONAL_ID_H

#include <stddef.h>

#define NATIONAL_ID_LENGTH 18
#define NATIONAL_ID_SIZE (NATIONAL_ID_LENGTH + 1)
#define NATIONAL_ID_EARLIEST_BIRTH_YEAR 1880

enum national_id_status {
    NATIONAL_ID_OK = 0,
    NATIONAL_ID_BAD_LENGTH,     /* not 18 characters */
    NATIONAL_ID_BAD_CHARACTER,  /* a non-digit where digits belong */
    NATIONAL_ID_BAD_REGION,     /* region code 000000 or not a province */
    NATIONAL_ID_BAD_DATE,       /* no such date, or in the future */
    NATIONAL_ID_BAD_CHECK,      /* check character does not match */
};

struct national_id {
    char text[NATIONAL_ID_SIZE];  /* normalised */
    int birth_year;
    int birth_month;
    int birth_day;
    int male;
};

/* Validates text[0..length) against GB 11643-1999, with today's date
 * (UTC, year/month/day) as the latest possible birth date. On NATIONAL_ID_OK
 * fills *out. */
enum national_id_status national_id_parse(const char *text, size_t length,
                                          int today_year, int today_month,
                                          int today_day, struct national_id *out);

/* The same with today's date from the clock. */
enum national_id_status national_id_parse_now(const char *text, size_t length,
                                              struct national_id *out);

/* The check character for the first 17 digits ('0'..'9' or 'X'), or 0 if
 * they are not all digits. */
char national_id_check_character(const char digits[17]);

/* A stable machine-readable code ("invalid_check_character", …) and an
 * English sentence for a status. */
const char *national_id_status_code(enum national_id_status status);
const char *national_id_status_message(enum national_id_status status);

/* 1 if year-month-day is a real Gregorian date. */
int calendar_date_is_valid(int year, int month, int day);

#endif
