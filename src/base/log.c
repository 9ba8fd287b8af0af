/* log: leveled one-line logging on stderr. See base.h. */
#include "base/base.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static _Atomic int current_level = LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level lvl)
{
	atomic_store(&current_level, (int)lvl);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&current_level);
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < OPUS_ARRAY_LEN(level_names); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return OPUS_ERR_INVAL;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char when[TIME_STR_MAX];
	char line[2048];
	va_list ap;
	int n;

	if ((int)lvl > atomic_load(&current_level))
		return;
	time_format(time_now_ms(), when);
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* One write per line so concurrent threads do not interleave. */
	fprintf(stderr, "%s %-5s %s\n", when, level_names[lvl], line);
}
