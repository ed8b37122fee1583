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

static void usage(FILE *f)
{
	fprintf(f, "usage: fim [options] command [args]\n"
	           "\n"
	           "commands:\n"
	           "  baseline            record the objects the policy selects\n"
	           "  check               compare the live system with the baseline\n"
	           "  show PATH...        print baseline records\n"
	           "  policy test PATH... show which rule and attributes apply\n"
	           "  verify              check the baseline's signature\n"
	           "  accept ID...|--all  take reviewed drift into the baseline\n"
	           "  history             list accepts\n"
	           "  key generate --out DIR   make a signing key pair\n"
	           "  log verify FILE     check an alert trail's chain\n"
	           "  watch               follow files and the journal, alert drift (daemon)\n"
	           "\n"
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
	if (strcmp(cmd, "baseline") == 0)
		return cmd_baseline(o, argc, argv);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(o, argc, argv);
	if (strcmp(cmd, "show") == 0)
		return cmd_show(o, argc, argv);
	if (strcmp(cmd, "policy") == 0)
		return cmd_policy(o, argc, argv);
	if (strcmp(cmd, "key") == 0)
		return cmd_key(o, argc, argv);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(o, argc, argv);
	if (strcmp(cmd, "accept") == 0)
		return cmd_accept(o, argc, argv);
	if (strcmp(cmd, "history") == 0)
		return cmd_history(o, argc, argv);
	if (strcmp(cmd, "log") == 0)
		return cmd_log(o, argc, argv);
	if (strcmp(cmd, "watch") == 0)
		return cmd_watch(o, argc, argv);
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

int main(int argc, char **argv)
{
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
		{ "sign-key", required_argument, NULL, 1000 },
		{ "verify-key", required_argument, NULL, 1001 },
		{ "passphrase-file", required_argument, NULL, 1002 },
		{ "out", required_argument, NULL, 1003 },
		{ "alerts", required_argument, NULL, 1004 },
		{ "alerts-key", required_argument, NULL, 1005 },
		{ "reason", required_argument, NULL, 1006 },
		{ "kind", required_argument, NULL, 1007 },
		{ "all", no_argument, NULL, 1008 },
		{ "journal-dir", required_argument, NULL, 1009 },
		{ "syslog", no_argument, NULL, 1010 },
		{ "journald", no_argument, NULL, 1011 },
		{ "max-line", required_argument, NULL, 1012 },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	        /* clang-format on */
	};
	struct fim_opts o = {
	        .policy = FIM_DEFAULT_POLICY,
	        .db = FIM_DEFAULT_DB,
	        .root = "/",
	        .verbose = 1,
	        .max_line = FIM_DEFAULT_MAX_LINE,
	};
	int c;

	/* getopt's own messages then start with "fim:" like ours. */
	argv[0] = (char *)"fim";
	c = output_init();
	if (c < 0) {
		log_error("standard output: %s", strerror(-c));
		return FIM_EXIT_IO;
	}
	while ((c = getopt_long(argc, argv, "c:d:r:j:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.policy = optarg;
			break;
		case 'd':
			o.db = optarg;
			break;
		case 'r':
			o.root = optarg;
			break;
		case 'F':
			if (strcmp(optarg, "human") != 0 && strcmp(optarg, "json") != 0) {
				log_error("--format: unknown format '%s' (use human or json)",
				          optarg);
				return FIM_EXIT_USAGE;
			}
			o.format = optarg;
			break;
		case 'j': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || n > 256) {
				log_error("--jobs: '%s' is not a number from 0 to 256", optarg);
				return FIM_EXIT_USAGE;
			}
			o.jobs = (unsigned)n;
			break;
		}
		case 'Q':
			o.quick = true;
			break;
		case 'N':
			o.nice = true;
			break;
		case 'K':
			o.keep_cache = true;
			break;
		case 1000:
			o.sign_key = optarg;
			break;
		case 1001:
			o.verify_key = optarg;
			break;
		case 1002:
			o.passphrase_file = optarg;
			break;
		case 1003:
			o.out = optarg;
			break;
		case 1004:
			o.alerts = optarg;
			break;
		case 1005:
			o.alerts_key = optarg;
			break;
		case 1006:
			o.reason = optarg;
			break;
		case 1007:
			o.kind = optarg;
			break;
		case 1008:
			o.all = true;
			break;
		case 1009:
			o.journal_dir = optarg;
			break;
		case 1010:
			o.syslog = true;
			break;
		case 1011:
			o.journald = true;
			break;
		case 1012: {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || n < JCUT_MIN ||
			    n > REPORT_JSON_MAX_LINE) {
				log_error("--max-line: '%s' is not a number of bytes from %u to %u",
				          optarg, JCUT_MIN, REPORT_JSON_MAX_LINE);
				return FIM_EXIT_USAGE;
			}
			o.max_line = n;
			break;
		}
		case 'q':
			o.verbose = 0;
			break;
		case 'v':
			o.verbose = 2;
			break;
		case 'V':
			printf("fim %s\n", FIM_VERSION);
			return finish("--version", 0);
		case 'h':
			usage(stdout);
			return finish("--help", 0);
		default:
			usage(stderr);
			return FIM_EXIT_USAGE;
		}
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
