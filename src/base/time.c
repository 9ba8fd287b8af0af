/* time: UTC milliseconds, ISO 8601 formatting and reduced-precision parsing. */
#include "base/base.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void time_format(int64_t ms, char out[TIME_STR_MAX])
{
	time_t secs = (time_t)(ms / 1000);
	int frac = (int)(ms % 1000);
	struct tm tm;
	if (frac < 0) {
		frac += 1000;
		secs -= 1;
	}
	char tmp[96]; /* wider than needed so -Wformat-truncation can prove it fits */
	gmtime_r(&secs, &tm);
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	snprintf(out, TIME_STR_MAX, "%.*s", TIME_STR_MAX - 1, tmp);
}

/* Reads exactly n digits at *p into *out, advancing *p. */
static bool take_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static int days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

/* Parses an optional zone: "", "Z", "+hh:mm", "+hhmm", "+hh"; sets offset in minutes. */
static bool take_zone(const char **p, int *offset_min)
{
	int sign, hh, mm = 0;
	*offset_min = 0;
	if (**p == '\0')
		return true;
	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		return true;
	}
	if (**p != '+' && **p != '-')
		return false;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (!take_digits(p, 2, &hh) || hh > 23)
		return false;
	if (**p == ':')
		(*p)++;
	if (**p && (!take_digits(p, 2, &mm) || mm > 59))
		return false;
	*offset_min = sign * (hh * 60 + mm);
	return true;
}

/* Fractional seconds after '.' or ',': any number of digits, kept to the millisecond. */
static bool take_fraction(const char **p, int *ms)
{
	if (**p != '.' && **p != ',')
		return true;
	(*p)++;
	if (!isdigit((unsigned char)**p))
		return false;
	for (int scale = 100; isdigit((unsigned char)**p); scale /= 10, (*p)++)
		*ms += (**p - '0') * scale;
	return true;
}

/*
 * Parses "Thh[:mm[:ss[.fff]]]" (extended) or "Thh[mm[ss[.fff]]]" (basic)
 * after the date; *p points at 'T'. The time has the form of the date.
 */
static bool take_clock(const char **p, bool basic, struct tm *tm, int *ms)
{
	int *fields[] = {&tm->tm_hour, &tm->tm_min, &tm->tm_sec};
	static const int max[] = {23, 59, 60};
	(*p)++;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(fields); i++) {
		if (i > 0 && !basic && **p != ':')
			return true;
		if (i > 0 && basic && !isdigit((unsigned char)**p))
			return true;
		if (i > 0 && !basic)
			(*p)++;
		if (!take_digits(p, 2, fields[i]) || *fields[i] > max[i])
			return false;
	}
	return take_fraction(p, ms);
}

/* Parses "-MM[-DD[Thh...]]" (extended) or "MMDD[Thh...]" (basic) after the year. */
static bool take_date(const char **p, int year, struct tm *tm, int *ms)
{
	bool basic = isdigit((unsigned char)**p);
	if (**p == '\0')
		return true;
	if (!basic && **p != '-')
		return true; /* a zone, or garbage: the caller decides */
	if (!basic)
		(*p)++;
	if (!take_digits(p, 2, &tm->tm_mon) || tm->tm_mon < 1 || tm->tm_mon > 12)
		return false;
	tm->tm_mon -= 1;
	if (!basic && **p != '-')
		return true; /* "YYYY-MM"; basic "YYYYMM" is not ISO 8601 */
	if (!basic)
		(*p)++;
	if (!take_digits(p, 2, &tm->tm_mday) || tm->tm_mday < 1 ||
	    tm->tm_mday > days_in_month(year, tm->tm_mon + 1))
		return false;
	if (**p == 'T' || **p == 't' || (!basic && **p == ' '))
		return take_clock(p, basic, tm, ms);
	return true;
}

/* The last instant time_format() writes with a four-digit year. */
#define TIME_MAX_MS 253402300799999LL /* 9999-12-31T23:59:59.999Z */

int time_parse(const char *s, int64_t *ms_out)
{
	struct tm tm = {.tm_mon = 0, .tm_mday = 1};
	const char *p = s;
	int year, ms = 0, zone = 0;
	int64_t result;
	time_t secs;

	if (!s || !take_digits(&p, 4, &year) || year < 1970)
		return OPUS_ERR_INVAL;
	tm.tm_year = year - 1900;
	if (!take_date(&p, year, &tm, &ms) || !take_zone(&p, &zone) || *p != '\0')
		return OPUS_ERR_INVAL;
	secs = timegm(&tm);
	if (secs == (time_t)-1)
		return OPUS_ERR_INVAL;
	result = ((int64_t)secs - (int64_t)zone * 60) * 1000 + ms;
	/* A zone can push the instant out of what formats back (before 1970, past 9999). */
	if (result < 0 || result > TIME_MAX_MS)
		return OPUS_ERR_INVAL;
	*ms_out = result;
	return 0;
}
