/* Unit tests for src/conf: defaults, INI file, flags, errors. */
#include "check.h"
#include "conf/conf.h"

#include <stdlib.h>
#include <unistd.h>

static char *write_tmp(const char *text)
{
	char *path = xstrdup("/tmp/opusd-conf-XXXXXX");
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	return path;
}

TEST(defaults_need_no_file)
{
	struct conf c;
	char *err = NULL;
	conf_init(&c);
	CHECK_STR(c.listen, "127.0.0.1:8080");
	CHECK(c.wait_cap == 60 && c.allow_anonymous);
	CHECK(c.max_form_body == 1048576 && c.max_upload_body == 104857600);
	CHECK(conf_check(&c, &err) == 0);
	CHECK_STR(c.base_url, "http://127.0.0.1:8080");
	CHECK(c.max_running >= 1);
	conf_release(&c);
}

TEST(file_then_flags)
{
	struct conf c;
	char *err = NULL;
	char *path = write_tmp("# comment\n[server]\nlisten = 127.0.0.1:9000\nwait_cap=5\n\n"
			       "allow_anonymous = no\n[jobs]\nmax_running = 3\n");
	conf_init(&c);
	CHECK(conf_load_file(&c, path, &err) == 0);
	CHECK_STR(c.listen, "127.0.0.1:9000");
	CHECK(c.wait_cap == 5 && !c.allow_anonymous && c.max_running == 3);
	CHECK(conf_set(&c, "listen", "127.0.0.1:9001", &err) == 0);
	CHECK(conf_set(&c, "server.wait_cap", "7", &err) == 0);
	CHECK_STR(c.listen, "127.0.0.1:9001");
	CHECK(c.wait_cap == 7);
	conf_release(&c);
	unlink(path);
	free(path);
}

TEST(errors_name_line_and_key)
{
	struct conf c;
	char *err = NULL;
	char *path = write_tmp("[server]\nwait_cap = 5\nwait_cap = -1\n");
	conf_init(&c);
	CHECK(conf_load_file(&c, path, &err) == OPUS_ERR_INVAL);
	CHECK(err && strstr(err, ":3:") && strstr(err, "wait_cap"));
	free(err);
	err = NULL;
	CHECK(conf_set(&c, "nonsense", "1", &err) == OPUS_ERR_INVAL);
	CHECK(err && strstr(err, "nonsense"));
	free(err);
	err = NULL;
	CHECK(conf_set(&c, "listen", "nowhere", &err) == 0);
	CHECK(conf_check(&c, &err) == OPUS_ERR_INVAL);
	free(err);
	conf_release(&c);
	unlink(path);
	free(path);
}

TEST(file_roots_must_be_absolute)
{
	struct conf c;
	char *err = NULL;
	conf_init(&c);
	CHECK(c.allow_private_addresses == false && c.max_input_size == 1073741824);
	CHECK(conf_set(&c, "inputs.file_roots", "/srv/data:/mnt/a", &err) == 0);
	CHECK(conf_check(&c, &err) == 0);
	CHECK(conf_set(&c, "file_roots", "/srv/data:relative/dir", &err) == 0);
	CHECK(conf_check(&c, &err) == OPUS_ERR_INVAL);
	CHECK(err && strstr(err, "inputs.file_roots") && strstr(err, "relative/dir"));
	free(err);
	conf_release(&c);
}

int main(void)
{
	RUN(defaults_need_no_file);
	RUN(file_then_flags);
	RUN(errors_name_line_and_key);
	RUN(file_roots_must_be_absolute);
	return CHECK_DONE();
}
