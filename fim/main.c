/* SPDX-License-Identifier: ISC */
/* fim: command-line entry, global options and dispatch to one file per command. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fim/cli.h"
#include "fim/report/jcut.h"
#include "fim/log.h"
#include "fim/output.h"

/* Long options without a short form: getopt_long's codes for them. */
enum opt_code {
	OPT_SIGN_KEY = 1000,
	OPT_VERIFY_KEY,
	OPT_PASSPHRASE_FILE,
	OPT_OUT,
	OPT_ALERTS,
	OPT_ALERTS_KEY,
	OPT_REASON,
	OPT_KIND,
	OPT_ALL,
	OPT_JOURNAL_DIR,
	OPT_SYSLOG,
	OPT_JOURNALD,
	OPT_MAX_LINE,
};

/*
 * The verbs: name, entry and the line of the usage text that describes it.
 * Every option is accepted before or after any verb; a verb ignores those
 * it does not read.
 */
static const struct verb {
	const char *name;
	int (*run)(struct fim_opts *o, int argc, char **argv);
	const char *help;
} verbs[] = {
        {"baseline", cmd_baseline, "baseline            record the objects the policy selects"},
        {"check", cmd_check, "check               compare the live system with the baseline"},
        {"show", cmd_show, "show PATH...        print baseline records"},
        {"policy", cmd_policy, "policy test PATH... show which rule and attributes apply"},
        {"verify", cmd_verify, "verify              check the baseline's signature"},
        {"accept", cmd_accept, "accept ID...|--all  take reviewed drift into the baseline"},
        {"history", cmd_history, "history             list accepts"},
        {"key", cmd_key, "key generate --out DIR   make a signing key pair"},
        {"log", cmd_log, "log verify FILE     check an alert trail's chain"},
        {"watch", cmd_watch,
         "watch               follow files and the journal, alert drift (daemon)"},
};

static void usage(FILE *f)
{
	fputs("usage: fim [options] command [args]\n\ncommands:\n", f);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %s\n", verbs[i].help);
	fprintf(f, "\n"
	           "options:\n"
	           "  -c, --policy FILE   policy file (default " FIM_DEFAULT_POLICY ")\n"
	           "  -d, --db DIR        baseline directory (default " FIM_DEFAULT_DB ")\n"
	           "  -r, --root DIR      treat DIR as / (offline checks, images)\n"
	           "      --format FMT    human or json (default human)\n"
	           "      --max-line BYTES  longest JSON line on stdout; longer events are\n"
	           "                      cut, marked fim.truncated (default 7680)\n"
	           "  -j, --jobs N        hash workers (default: one per CPU)\n"
	           "      --quick         check: re-hash only files whose inode, size,\n"
	           "                      mtime or ctime differ from the baseline\n"
	           "      --nice          run at idle CPU and I/O priority\n"
	           "      --keep-cache    leave the pages of files read in the page cache\n"
	           "      --sign-key FILE       sign the baseline (baseline, accept)\n"
	           "      --verify-key FILE     require a valid signature by this key\n"
	           "      --passphrase-file F   read the key's passphrase from F\n"
	           "      --alerts FILE         append drift to this alert trail (check, watch)\n"
	           "      --alerts-key FILE     key of the trail's hash chain\n"
	           "      --journal-dir DIR     watch: read journal files from DIR\n"
	           "      --syslog, --journald  watch: alerts also to syslog / the journal\n"
	           "      --reason TEXT         why (accept); --all, --kind KIND\n"
	           "      --out DIR             where key generate writes\n"
	           "  -q, --quiet         only errors on stderr\n"
	           "  -v, --verbose       more detail\n"
	           "      --version       print the version\n"
	           "  -h, --help          this text\n"
	           "\n"
	           "check exit status: 0 no drift, OR of 1 added, 2 removed, 4 changed,\n"
	           "8 unreadable; 16 usage, 17 policy, 18 baseline, 19 integrity, 20 I/O.\n");
}

/* Deep trees keep one fd per level open; allow as many as permitted. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Idle CPU and I/O class for scheduled scans; threads made later inherit
 * both. Failure is not fatal: the scan still runs, only less politely. */
static void be_nice(void)
{
	if (setpriority(PRIO_PROCESS, 0, 19) < 0)
		log_warn("--nice: cannot lower the CPU priority: %s", strerror(errno));
	/* ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0)) */
	if (syscall(SYS_ioprio_set, 1, 0, 3 << 13) < 0)
		log_warn("--nice: cannot set the idle I/O class: %s", strerror(errno));
}

static int dispatch(struct fim_opts *o, const char *cmd, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(cmd, verbs[i].name) == 0)
			return verbs[i].run(o, argc, argv);
	log_error("unknown command '%s' (see fim --help)", cmd);
	return FIM_EXIT_USAGE;
}

/* What was printed must have reached standard output: a report lost to a
 * full disk or a closed pipe is an I/O error, said once, never exit 0. */
static int finish(const char *cmd, int ret)
{
	output_flush();
	if (output_report(cmd) && ret < FIM_EXIT_USAGE)
		ret = FIM_EXIT_IO;
	return ret;
}

/* ARG as a decimal number from MIN to MAX, or -1. */
static long number(const char *arg, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long n = strtoul(arg, &end, 10);

	if (*arg < '0' || *arg > '9' || *end || n < min || n > max)
		return -1;
	return (long)n;
}

/* Takes option C (getopt_long's code) with ARG into O. Returns 0, or -1
 * when it is the whole of the run (--help, --version: done), or an exit
 * status (reported). */
static int take_opt(struct fim_opts *o, int c, const char *arg)
{
	long n;

	switch (c) {
	case 'c':
		o->policy = arg;
		break;
	case 'd':
		o->db = arg;
		break;
	case 'r':
		o->root = arg;
		break;
	case 'F':
		if (strcmp(arg, "human") != 0 && strcmp(arg, "json") != 0) {
			log_error("--format: unknown format '%s' (use human or json)", arg);
			return FIM_EXIT_USAGE;
		}
		o->format = arg;
		break;
	case 'j':
		n = number(arg, 0, 256);
		if (n < 0) {
			log_error("--jobs: '%s' is not a number from 0 to 256", arg);
			return FIM_EXIT_USAGE;
		}
		o->jobs = (unsigned)n;
		break;
	case 'Q':
		o->quick = true;
		break;
	case 'N':
		o->nice = true;
		break;
	case 'K':
		o->keep_cache = true;
		break;
	case OPT_SIGN_KEY:
		o->sign_key = arg;
		break;
	case OPT_VERIFY_KEY:
		o->verify_key = arg;
		break;
	case OPT_PASSPHRASE_FILE:
		o->passphrase_file = arg;
		break;
	case OPT_OUT:
		o->out = arg;
		break;
	case OPT_ALERTS:
		o->alerts = arg;
		break;
	case OPT_ALERTS_KEY:
		o->alerts_key = arg;
		break;
	case OPT_REASON:
		o->reason = arg;
		break;
	case OPT_KIND:
		o->kind = arg;
		break;
	case OPT_ALL:
		o->all = true;
		break;
	case OPT_JOURNAL_DIR:
		o->journal_dir = arg;
		break;
	case OPT_SYSLOG:
		o->syslog = true;
		break;
	case OPT_JOURNALD:
		o->journald = true;
		break;
	case OPT_MAX_LINE:
		n = number(arg, JCUT_MIN, REPORT_JSON_MAX_LINE);
		if (n < 0) {
			log_error("--max-line: '%s' is not a number of bytes from %u to %u", arg,
			          JCUT_MIN, REPORT_JSON_MAX_LINE);
			return FIM_EXIT_USAGE;
		}
		o->max_line = (size_t)n;
		break;
	case 'q':
		o->verbose = 0;
		break;
	case 'v':
		o->verbose = 2;
		break;
	case 'V':
		printf("fim %s\n", FIM_VERSION);
		return -1;
	case 'h':
		usage(stdout);
		return -1;
	default:
		usage(stderr);
		return FIM_EXIT_USAGE;
	}
	return 0;
}

static const struct option longopts[] = {
        /* clang-format off */
	{ "policy", required_argument, NULL, 'c' },
	{ "db", required_argument, NULL, 'd' },
	{ "root", required_argument, NULL, 'r' },
	{ "format", required_argument, NULL, 'F' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "quick", no_argument, NULL, 'Q' },
	{ "nice", no_argument, NULL, 'N' },
	{ "keep-cache", no_argument, NULL, 'K' },
	{ "sign-key", required_argument, NULL, OPT_SIGN_KEY },
	{ "verify-key", required_argument, NULL, OPT_VERIFY_KEY },
	{ "passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "alerts", required_argument, NULL, OPT_ALERTS },
	{ "alerts-key", required_argument, NULL, OPT_ALERTS_KEY },
	{ "reason", required_argument, NULL, OPT_REASON },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "journal-dir", required_argument, NULL, OPT_JOURNAL_DIR },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "journald", no_argument, NULL, OPT_JOURNALD },
	{ "max-line", required_argument, NULL, OPT_MAX_LINE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
        /* clang-format on */
};

int main(int argc, char **argv)
{
	struct fim_opts o = {
	        .policy = FIM_DEFAULT_POLICY,
	        .db = FIM_DEFAULT_DB,
	        .root = "/",
	        .verbose = 1,
	        .max_line = FIM_DEFAULT_MAX_LINE,
	};
	int c, r;

	/* getopt's own messages then start with "fim:" like ours. */
	argv[0] = (char *)"fim";
	c = output_init();
	if (c < 0) {
		log_error("standard output: %s", strerror(-c));
		return FIM_EXIT_IO;
	}
	while ((c = getopt_long(argc, argv, "c:d:r:j:qvh", longopts, NULL)) != -1) {
		r = take_opt(&o, c, optarg);
		if (r < 0)
			return finish(c == 'V' ? "--version" : "--help", 0);
		if (r)
			return r;
	}
	log_level = o.verbose;
	if (!o.format)
		o.format = "human";
	log_setup(strcmp(o.format, "json") == 0, o.max_line);
	o.color = strcmp(o.format, "human") == 0 && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	if (optind >= argc) {
		usage(stderr);
		return FIM_EXIT_USAGE;
	}
	raise_fd_limit();
	if (o.nice)
		be_nice();

	const char *cmd = argv[optind];
	argc -= optind;
	argv += optind;
	return finish(cmd, dispatch(&o, cmd, argc, argv));
}
