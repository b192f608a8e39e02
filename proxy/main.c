/*
 * build/ebssh-proxy: the ssh ProxyCommand.
 *
 *   ProxyCommand ebssh-proxy %h %p
 *
 * Steps, each one line on stderr with -v: parse the alias (alias.c), find
 * the endpoint and API key (config.c), answer from the cache when it is
 * fresh (cache.c), else ask the lookup service (lookup.c) and record the
 * answer; when the service is unavailable, fall back to an answer up to 24 h
 * old with a warning. Then --print the address, or connect (connect.c) and
 * either hand the socket to ssh (--fdpass, fdpass.c) or relay (relay.c);
 * with --jump, a channel through an SSH bastion (jump.c) replaces the
 * connect and the relay.
 * No shell is ever run. Errors: one line starting "ebssh-proxy:" on stderr
 * and one of the exit statuses below.
 *
 * `--known-hosts HOST` (KnownHostsCommand ebssh-proxy --known-hosts %H)
 * prints the instance's host keys instead; known_hosts.c does it all.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../aws/http.h"
#include "addr.h"
#include "alias.h"
#include "cache.h"
#include "cli.h"
#include "config.h"
#include "connect.h"
#include "fdpass.h"
#include "jump.h"
#include "known_hosts.h"
#include "lookup.h"
#include "relay.h"
#include "../util/decimal.h"
#include "../util/monotime.h"
#include "../util/version.h"

#define PROG CLI_PROG

struct opts {
	struct cli_flags flags; /* --endpoint, --api-key (a copy), --auth, ... */
	char *api_key_copy;     /* owned: --api-key's value, scrubbed from argv */
	unsigned index;         /* --index, 0 when not given */
	int print;              /* --print */
	int fdpass;             /* --fdpass */
	int verbose;            /* -v */
	int asg;                /* --asg */
	enum lookup_address address;
	long cache_ttl;          /* seconds */
	long timeout;            /* seconds */
	const char *known_hosts; /* --known-hosts HOST (KnownHostsCommand), or NULL */
	const char *host;
	unsigned port;             /* 0 with --print and no port */
	int jump;                  /* --jump given: through a bastion */
	struct jump_spec jump_to;  /* --jump [user@]host[:port] */
	const char *jump_identity; /* --jump-identity FILE */
};

/* Where the address came from. */

struct run {
	struct opts o;
	struct alias alias;
	struct config cfg;
	struct cache cache;
	int have_cache;
	char key[CACHE_KEY_LEN + 1];
	struct cli_service svc; /* its HTTP client made at the first question */
	struct addr addr;
	enum cli_source source;
};

static void usage(FILE *f)
{
	fputs("usage: " PROG " [options] HOST PORT\n"
	      "       " PROG " --print [options] HOST [PORT]\n"
	      "       " PROG " --known-hosts HOST [options]\n"
	      "\n"
	      "An ssh ProxyCommand for the instances of an Elastic Beanstalk environment:\n"
	      "  ProxyCommand " PROG " %h %p\n"
	      "HOST is an alias: NAME.N or NAMEN is the N-th instance of NAME (oldest first),\n"
	      "NAME alone the first. Example: my-env-production2, app-v2.1.\n"
	      "\n"
	      "options:\n"
	      "  --endpoint URL      lookup service (else EBSSH_ENDPOINT, else `endpoint =`\n"
	      "                      in $XDG_CONFIG_HOME/ebssh/config)\n"
	      "  --api-key KEY       sent as x-api-key (else EBSSH_API_KEY, else `api_key =`);\n"
	      "                      scrubbed from the command line at start, but visible\n"
	      "                      before: prefer --api-key-file or EBSSH_API_KEY\n"
	      "  --api-key-file FILE the API key is the first line of FILE\n"
	      "                      (else `api_key_file =`)\n"
	      "  --auth api-key|iam  how to be let in: an API key (default), or iam: sign\n"
	      "                      with your AWS identity (SigV4, execute-api); else `auth =`\n"
	      "  --aws-profile NAME  with --auth iam: this AWS profile (else AWS_PROFILE and\n"
	      "                      the default chain, else `aws_profile =`)\n"
	      "  --aws-region REGION with --auth iam: the API's region (else from the\n"
	      "                      endpoint's host, AWS_REGION, or the profile's region)\n"
	      "  --index N           instance N (1-1000); HOST is then the name as it is\n"
	      "  --address public|private\n"
	      "                      which IP of the instance (default public)\n"
	      "  --asg               HOST names an Auto Scaling group, not an environment\n"
	      "  --print             print the address and exit, without connecting\n"
	      "  --cache-ttl S       use a cached answer younger than S seconds (default 30;\n"
	      "                      0 asks every time); answers up to 24 h old are used, with\n"
	      "                      a warning, when the service is unavailable\n"
	      "  --timeout S         for the lookup and for the connection (default 10)\n"
	      "  --fdpass            hand the connection to ssh (ProxyUseFdpass yes)\n"
	      "  --known-hosts HOST  print the instance's host keys as known_hosts lines for\n"
	      "                      HOST (alias or [alias]:port), for\n"
	      "                      KnownHostsCommand " PROG " --known-hosts %H\n"
	      "  --jump [USER@]HOST[:PORT]\n"
	      "                      through this SSH bastion (its host key must be in\n"
	      "                      ~/.ssh/known_hosts; keys from ssh-agent)\n"
	      "  --jump-identity FILE\n"
	      "                      also try this private key with the bastion\n"
	      "  -v, --verbose       one line on stderr per step\n"
	      "  -h, --help          this text\n"
	      "  -V, --version       the version\n"
	      "\n"
	      "exit status: 0 ok, 1 relay or other failure, 2 usage or configuration,\n"
	      "3 no address (not found, refused answer, service down with nothing cached),\n"
	      "4 connection to the instance failed.\n",
	      f);
}

/* A decimal number lo..hi, digits only. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
	int64_t v;

	if (decimal_parse(s, s ? strlen(s) : 0, 9, 0, lo, hi, &v))
		return -1;
	*out = (long)v;
	return 0;
}

enum {
	OPT_ENDPOINT = 256,
	OPT_API_KEY,
	OPT_INDEX,
	OPT_PRINT,
	OPT_ADDRESS,
	OPT_ASG,
	OPT_CACHE_TTL,
	OPT_TIMEOUT,
	OPT_FDPASS,
	OPT_JUMP,
	OPT_JUMP_IDENTITY,
	OPT_KNOWN_HOSTS,
	OPT_API_KEY_FILE,
	OPT_AUTH,
	OPT_AWS_PROFILE,
	OPT_AWS_REGION
};

static const struct option long_opts[] = {
    {"endpoint", required_argument, NULL, OPT_ENDPOINT},
    {"api-key", required_argument, NULL, OPT_API_KEY},
    {"api-key-file", required_argument, NULL, OPT_API_KEY_FILE},
    {"auth", required_argument, NULL, OPT_AUTH},
    {"aws-profile", required_argument, NULL, OPT_AWS_PROFILE},
    {"aws-region", required_argument, NULL, OPT_AWS_REGION},
    {"index", required_argument, NULL, OPT_INDEX},
    {"print", no_argument, NULL, OPT_PRINT},
    {"address", required_argument, NULL, OPT_ADDRESS},
    {"asg", no_argument, NULL, OPT_ASG},
    {"cache-ttl", required_argument, NULL, OPT_CACHE_TTL},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"fdpass", no_argument, NULL, OPT_FDPASS},
    {"known-hosts", required_argument, NULL, OPT_KNOWN_HOSTS},
    {"jump", required_argument, NULL, OPT_JUMP},
    {"jump-identity", required_argument, NULL, OPT_JUMP_IDENTITY},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Parses argv into o; -1 after printing the error, 1 after --help/--version. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	struct err e;
	long v;
	int c;

	o->cache_ttl = 30;
	o->timeout = 10;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hvV", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_ENDPOINT:
			o->flags.endpoint = optarg;
			break;
		case OPT_API_KEY:
			/* keep a copy and scrub argv's, so that ps shows no key */
			free(o->api_key_copy);
			o->api_key_copy = strdup(optarg);
			if (!o->api_key_copy) {
				cli_say("out of memory");
				return -1;
			}
			memset(optarg, 'x', strlen(optarg));
			o->flags.api_key = o->api_key_copy;
			break;
		case OPT_API_KEY_FILE:
			if (!*optarg) {
				cli_say("--api-key-file: empty");
				return -1;
			}
			o->flags.api_key_file = optarg;
			break;
		case OPT_AUTH:
			if (strcmp(optarg, "api-key") != 0 && strcmp(optarg, "iam") != 0) {
				cli_say("--auth: api-key or iam");
				return -1;
			}
			o->flags.auth = optarg;
			break;
		case OPT_AWS_PROFILE:
			o->flags.aws_profile = optarg;
			break;
		case OPT_AWS_REGION:
			o->flags.aws_region = optarg;
			break;
		case OPT_INDEX:
			if (alias_parse_index(optarg, &o->index, &e) != 0) {
				cli_say("--index: %s", e.message);
				return -1;
			}
			break;
		case OPT_PRINT:
			o->print = 1;
			break;
		case OPT_ADDRESS:
			if (strcmp(optarg, "public") == 0)
				o->address = LOOKUP_PUBLIC;
			else if (strcmp(optarg, "private") == 0)
				o->address = LOOKUP_PRIVATE;
			else {
				cli_say("--address: public or private");
				return -1;
			}
			break;
		case OPT_ASG:
			o->asg = 1;
			break;
		case OPT_CACHE_TTL:
			if (parse_long(optarg, 0, CACHE_STALE_MAX, &v) != 0) {
				cli_say("--cache-ttl: seconds from 0 to %ld", CACHE_STALE_MAX);
				return -1;
			}
			o->cache_ttl = v;
			break;
		case OPT_TIMEOUT:
			if (parse_long(optarg, 1, 3600, &v) != 0) {
				cli_say("--timeout: seconds from 1 to 3600");
				return -1;
			}
			o->timeout = v;
			break;
		case OPT_FDPASS:
			o->fdpass = 1;
			break;
		case OPT_KNOWN_HOSTS:
			o->known_hosts = optarg;
			break;
		case OPT_JUMP:
			if (jump_parse_spec(optarg, &o->jump_to, &e) != 0) {
				cli_say("%s ([user@]host[:port])", e.message);
				return -1;
			}
			o->jump = 1;
			break;
		case OPT_JUMP_IDENTITY:
			if (!*optarg) {
				cli_say("--jump-identity: empty");
				return -1;
			}
			o->jump_identity = optarg;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			puts(PROG " " EBSSH_VERSION);
			http_version_print(stdout, 0);
			return 1;
		case ':':
			cli_say("%s needs a value (see --help)", argv[optind - 1]);
			return -1;
		default:
			if (optopt)
				cli_say("unknown option -%c (see --help)", optopt);
			else
				cli_say("unknown option %s (see --help)", argv[optind - 1]);
			return -1;
		}
	}
	if (o->known_hosts) {
		if (optind < argc || o->print || o->fdpass || o->jump) {
			cli_say(
			    "--known-hosts HOST takes no HOST PORT, --print, --fdpass or --jump");
			return -1;
		}
		return 0;
	}
	if (optind >= argc) {
		cli_say("no HOST given (usage: " PROG " [options] HOST PORT; see --help)");
		return -1;
	}
	o->host = argv[optind++];
	if (optind < argc) {
		if (parse_long(argv[optind], 1, 65535, &v) != 0 || argv[optind][0] == '0') {
			cli_say("PORT must be a number from 1 to 65535");
			return -1;
		}
		o->port = (unsigned)v;
		optind++;
	} else if (!o->print) {
		cli_say("no PORT given (usage: " PROG " [options] HOST PORT; see --help)");
		return -1;
	}
	if (optind < argc) {
		cli_say("unexpected argument after HOST PORT (see --help)");
		return -1;
	}
	if (o->print && o->fdpass) {
		cli_say("--print and --fdpass do not go together");
		return -1;
	}
	if (o->jump && o->fdpass) {
		cli_say("--jump and --fdpass do not go together (a channel is no socket to pass)");
		return -1;
	}
	if (o->jump_identity && !o->jump) {
		cli_say("--jump-identity without --jump");
		return -1;
	}
	return 0;
}

/* Makes sure fds 0, 1 and 2 are open, so no socket ever lands on them. */
static void ensure_std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd <= 2)
		fcntl(fd, F_SETFD, 0);
	if (fd > 2)
		close(fd);
}

static const char *age_text(long long s, char *buf, size_t cap)
{
	if (s < 120)
		snprintf(buf, cap, "%llds", s);
	else if (s < 7200)
		snprintf(buf, cap, "%lld min", s / 60);
	else
		snprintf(buf, cap, "%lld h", s / 3600);
	return buf;
}

/* Asks the service (no cache involved); records a good answer. */
static int ask_service(struct run *r, struct addr *out, struct err *e)
{
	struct lookup_query q = {
	    .endpoint = r->cfg.endpoint,
	    .api_key = r->cfg.api_key,
	    .alias = &r->alias,
	    .address = r->o.address,
	    .timeout_ms = r->o.timeout * 1000,
	    .user_agent = PROG "/" EBSSH_VERSION,
	};
	struct err ce;
	long long t0;
	int rc;

	rc = cli_service_open(&r->svc, &r->cfg, e);
	if (rc)
		return rc;
	q.iam = cli_service_iam(&r->svc);
	cli_step_get(&q, LOOKUP_ROUTE_IP);
	t0 = monotime_ms();
	rc = lookup_fetch(r->svc.http, &q, out, e);
	if (rc)
		return rc;
	CLI_STEP("the service answered %s in %lld ms", out->text, monotime_ms() - t0);
	if (r->have_cache) {
		if (cache_put(&r->cache, r->key, out, time(NULL), &ce) != 0)
			CLI_STEP("could not record the answer: %s", ce.message);
	}
	return 0;
}

/* cli_resolver's cached: the entry at most max_age old into r->addr. */
static int from_cache(void *arg, long max_age, const struct err *why, struct err *e)
{
	struct run *r = arg;
	struct cache_entry ent;
	char age[32];
	int rc;

	rc = cache_get(&r->cache, r->key, time(NULL), max_age, &ent, e);
	if (rc != 0)
		return rc;
	if (why)
		cli_say("warning: %s; using the answer cached %s ago, %s", why->message,
		        age_text(ent.age, age, sizeof(age)), ent.addr.text);
	else
		CLI_STEP("cached answer %s, %s old", ent.addr.text,
		         age_text(ent.age, age, sizeof(age)));
	r->addr = ent.addr;
	return 0;
}

/* cli_resolver's ask. */
static int from_service(void *arg, struct err *e)
{
	struct run *r = arg;

	return ask_service(r, &r->addr, e);
}

/* Finds the address: fresh cache, service, or stale cache (cli_resolve). */
static int resolve(struct run *r, struct err *e)
{
	struct cli_resolver res = {
	    .cache = r->have_cache ? &r->cache : NULL,
	    .key = r->key,
	    .cache_ttl = r->o.cache_ttl,
	    .lock_timeout_ms = r->o.timeout * 1000L,
	    .cached = from_cache,
	    .ask = from_service,
	    .arg = r,
	};

	return cli_resolve(&res, &r->source, e);
}

static void jump_log(const char *line)
{
	CLI_STEP("%s", line);
}

/* A way to the instance: a socket, or a channel through the bastion. */
struct transport {
	int sock;
	struct jump *jump;
};

static int open_transport(struct run *r, struct transport *t, struct err *e)
{
	struct jump_opts jo = {
	    .spec = &r->o.jump_to,
	    .identity = r->o.jump_identity,
	    .timeout_ms = r->o.timeout * 1000,
	    .log = jump_log,
	};
	int rc;

	t->sock = -1;
	t->jump = NULL;
	if (r->o.jump)
		return jump_open(&jo, r->addr.text, r->o.port, &t->jump, e);
	CLI_STEP("connecting to %s port %u", r->addr.text, r->o.port);
	rc = connect_tcp(r->addr.text, r->o.port, r->o.timeout * 1000, e);
	if (rc < 0)
		return rc;
	t->sock = rc;
	return 0;
}

static int open_and_run(struct run *r)
{
	struct relay_opts ropts = {0};
	struct relay_stats st;
	struct transport t;
	struct err e;
	struct addr again;
	long long t0;
	int rc;

	t0 = monotime_ms();
	rc = open_transport(r, &t, &e);
	if (rc && r->source == CLI_FROM_CACHE && (rc == ERR_NETWORK || rc == ERR_TIMEOUT)) {
		/* The cached answer may be out of date (instance replaced):
		 * ask again once, and try the new address if it differs. */
		CLI_STEP("%s; asking the service again", e.message);
		if (ask_service(r, &again, NULL) == 0 && strcmp(again.text, r->addr.text) != 0) {
			r->addr = again;
			rc = open_transport(r, &t, &e);
		}
	}
	if (rc) {
		cli_say("%s: %s", r->o.host, e.message);
		return CLI_EXIT_CONNECT;
	}
	CLI_STEP("connected in %lld ms", monotime_ms() - t0);
	if (r->o.fdpass) {
		rc = fdpass_send(STDOUT_FILENO, t.sock, &e);
		close(t.sock);
		if (rc) {
			cli_say("%s", e.message);
			return CLI_EXIT_FAIL;
		}
		CLI_STEP("socket handed to ssh");
		return CLI_EXIT_OK;
	}
	if (t.jump) {
		rc = jump_relay(t.jump, STDIN_FILENO, STDOUT_FILENO, &st, &e);
		jump_close(t.jump);
	} else {
		rc = relay_run(STDIN_FILENO, STDOUT_FILENO, t.sock, &ropts, &st, &e);
		close(t.sock);
	}
	CLI_STEP("relay (%s up, %s down) ended: %llu bytes up, %llu bytes down", st.up_mode,
	         st.down_mode, st.up, st.down);
	if (rc) {
		cli_say("%s: %s", r->o.host, e.message);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

static void describe(const struct run *r)
{
	if (r->alias.kind == ALIAS_ASG)
		CLI_STEP("%s: Auto Scaling group %s, instance %u, %s address", r->o.host,
		         r->alias.name, r->alias.index, lookup_address_name(r->o.address));
	else
		CLI_STEP("%s: environment %s, instance %u, %s address", r->o.host, r->alias.name,
		         r->alias.index, lookup_address_name(r->o.address));
	CLI_STEP("endpoint %s (%s), auth %s, API key %s", r->cfg.endpoint,
	         config_source_name(r->cfg.endpoint_from), config_auth_name(r->cfg.auth),
	         r->cfg.api_key ? config_source_name(r->cfg.api_key_from) : "none");
}

int main(int argc, char **argv)
{
	struct run r;
	struct err e;
	int rc, status = CLI_EXIT_FAIL;

	ensure_std_fds();
	memset(&r, 0, sizeof(r));
	r.cache.dirfd = -1;
	config_init(&r.cfg);
	rc = parse_args(argc, argv, &r.o);
	if (rc) {
		free(r.o.api_key_copy);
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	cli_verbose = r.o.verbose;
	if (r.o.known_hosts) {
		struct known_hosts_opts ko = {
		    .host = r.o.known_hosts,
		    .flags = &r.o.flags,
		    .asg = r.o.asg,
		    .index = r.o.index,
		    .address = r.o.address,
		    .cache_ttl = r.o.cache_ttl,
		    .timeout = r.o.timeout,
		    .verbose = r.o.verbose,
		    .user_agent = PROG "/" EBSSH_VERSION,
		};
		status = known_hosts_run(&ko);
		free(r.o.api_key_copy);
		return status;
	}

	rc = cli_parse_alias(r.o.host, r.o.asg, r.o.index, &r.alias, &e);
	if (rc) {
		cli_say("%s", e.message);
		status = CLI_EXIT_USAGE;
		goto out;
	}
	if (cli_config(&r.o.flags, &r.cfg) != 0) {
		status = CLI_EXIT_USAGE;
		goto out;
	}
	describe(&r);
	if (cli_service_prepare(&r.svc, &r.cfg) != 0) {
		status = CLI_EXIT_USAGE;
		goto out;
	}
	r.have_cache =
	    cli_cache(&r.cache, r.key, r.cfg.endpoint, &r.alias, lookup_address_name(r.o.address));

	if (resolve(&r, &e) != 0) {
		cli_say("%s: %s", r.o.host, e.message);
		status = CLI_EXIT_LOOKUP;
		goto out;
	}
	if (r.o.print) {
		printf("%s\n", r.addr.text);
		status = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
		goto out;
	}
	status = open_and_run(&r);
out:
	cli_service_close(&r.svc);
	cache_close(&r.cache);
	config_free(&r.cfg);
	free(r.o.api_key_copy);
	return status;
}
