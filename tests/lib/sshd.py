"""A loopback "instance fleet" of real OpenSSH servers, and the lookup service
in front of the AWS double, for end-to-end tests and benchmarks.

    from sshd import Fleet, LookupService, demo_fixture

    with Fleet(3) as fleet, LookupService(demo_fixture("myenv-demo", fleet)) as api:
        cfg = fleet.write_ssh_config("myenv-demo*", fleet.proxy_command(api.url, api_key=api.key))
        subprocess.run(["ssh", "-F", cfg, "myenv-demo2", "echo $INSTANCE"], env=fleet.env())
        api.lookups()        # the /eb/... requests ebssh-api answered (its access log)

Fleet(n) generates a user key and one host key per instance (ed25519, in a
temporary directory) and starts n `sshd -D -e -f CONFIG` on 127.0.0.2,
127.0.0.3, ... all on one port (a free one unless `port=` is given; 22 needs
root). Each sshd sets INSTANCE=<instance id> for its sessions, serves SFTP
(scp) and rsync, and accepts the user key for the current user (root too:
PermitRootLogin prohibit-password). Instances (`fleet.instances`) expose
ip, port, instance_id and host_pub ("ssh-ed25519 AAAA..."). `write_ssh_config`
writes an ssh_config whose Host pattern goes through build/ebssh-proxy, with
a known_hosts file holding each instance's key under its aliases (NAME.N,
NAMEN, and NAME for the first): StrictHostKeyChecking yes, so reaching the
wrong instance is a failure, never a prompt.

Every child (sshd, the AWS double, ebssh-api) is stopped when its `with`
block ends, at interpreter exit, and (PR_SET_PDEATHSIG) when the test dies.
Nothing here reads or writes the user's ~/.ssh or ~/.cache: `fleet.env()` is
an environment with a throw-away HOME and XDG directories, and no ssh-agent.
"""

import atexit
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

from api_server import ApiServer  # noqa: E402
from child import die_with_parent, stop_process  # noqa: E402
from harness import AwsDouble  # noqa: E402
from route_cases import aws_env  # noqa: E402

SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
BUILD = os.environ.get("EBSSH_BUILD", os.path.join(ROOT, "build"))
API_KEY = "e2e-key-0123456789abcdef"

def missing_tools():
    """What this machine lacks for a fleet (empty when all is there)."""
    need = [SSHD, SFTP_SERVER] + [shutil.which(t) or t for t in ("ssh", "ssh-keygen", "scp", "rsync")]
    return [p for p in need if not os.access(p, os.X_OK)]


def keygen(path, comment="ebssh-test"):
    """An ed25519 key pair without passphrase; returns the public line's "type base64"."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
                   check=True, stdin=subprocess.DEVNULL)
    with open(path + ".pub") as f:
        return " ".join(f.read().split()[:2])


def _port_free(ip, port):
    s = socket.socket()
    try:
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_common_port(ips, tries=50):
    """A TCP port that is free on every address in ips right now."""
    for _ in range(tries):
        s = socket.socket()
        s.bind((ips[0], 0))
        port = s.getsockname()[1]
        s.close()
        if all(_port_free(ip, port) for ip in ips[1:]):
            return port
    raise RuntimeError("no port free on all of %s" % ", ".join(ips))


class SshdInstance:
    """One sshd: ip, port, instance_id, host_pub, pid, log (its stderr's path)."""

    def __init__(self, fleet, number, ip, instance_id):
        self.fleet = fleet
        self.number = number
        self.ip = ip
        self.instance_id = instance_id
        self.port = None
        self.proc = None
        d = fleet.dir
        self.host_key = os.path.join(d, "host%d_ed25519" % number)
        self.host_pub = keygen(self.host_key, "host-%s" % instance_id)
        self.config = os.path.join(d, "sshd%d_config" % number)
        self.log = os.path.join(d, "sshd%d.log" % number)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _write_config(self):
        f = self.fleet
        lines = [
            "ListenAddress %s:%d" % (self.ip, self.port),
            "HostKey %s" % self.host_key,
            "AuthorizedKeysFile %s" % f.authorized_keys,
            "PidFile %s" % os.path.join(f.dir, "sshd%d.pid" % self.number),
            "SetEnv INSTANCE=%s" % self.instance_id,
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "AllowTcpForwarding yes",
            "X11Forwarding no",
            "PrintMotd no",
            "PrintLastLog no",
            "MaxStartups 200",
            "MaxSessions 50",
            "Subsystem sftp %s" % SFTP_SERVER,
            "LogLevel %s" % f.log_level,
        ]
        with open(self.config, "w") as fh:
            fh.write("\n".join(lines + list(f.extra_config)) + "\n")

    def start(self, port, timeout=10):
        """Starts sshd on port; True once it accepts, False if it could not bind."""
        self.port = port
        self._write_config()
        log = open(self.log, "ab")
        try:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", self.config], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, preexec_fn=die_with_parent)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                with open(self.log, errors="replace") as fh:
                    text = fh.read()
                self.proc = None
                if "Address already in use" in text or "Cannot bind any address" in text:
                    return False
                raise RuntimeError("sshd on %s:%d exited: %s" % (self.ip, port, text.strip()[-500:]))
            try:
                socket.create_connection((self.ip, port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("sshd on %s:%d did not accept within %ds" % (self.ip, port, timeout))

    def stop(self):
        proc, self.proc = self.proc, None
        return stop_process(proc)


class Fleet:
    """n sshd instances on 127.0.0.<first>, 127.0.0.<first+1>, ...

    ids: their instance ids (default i-0e2e0000000000001, ...); port: one
    port for all (default: a free one); log_level: sshd's LogLevel;
    extra_config: more sshd_config lines for every instance."""

    def __init__(self, n=3, first=2, ids=None, port=None, log_level="INFO", extra_config=()):
        if missing_tools():
            raise RuntimeError("missing: " + ", ".join(missing_tools()))
        self.n = n
        self.ips = ["127.0.0.%d" % (first + i) for i in range(n)]
        self.ids = list(ids) if ids else ["i-0e2e%013x" % (i + 1) for i in range(n)]
        self.want_port = port
        self.port = None
        self.log_level = log_level
        self.extra_config = list(extra_config)
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.dir = None
        self.instances = []
        self.configs = 0

    # -- life cycle -----------------------------------------------------------

    def start(self):
        if self.dir is not None:
            return self
        self.dir = tempfile.mkdtemp(prefix="ebssh-fleet-")
        atexit.register(self.stop)
        try:
            self.user_key = os.path.join(self.dir, "user_ed25519")
            self.user_pub = keygen(self.user_key, "ebssh-test-user")
            self.authorized_keys = os.path.join(self.dir, "authorized_keys")
            with open(self.authorized_keys, "w") as f:
                f.write(self.user_pub + "\n")
            os.chmod(self.authorized_keys, 0o600)
            if os.geteuid() == 0:
                os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
            self.home = os.path.join(self.dir, "home")
            for sub in ("", "cache", "config"):
                os.makedirs(os.path.join(self.home, sub), mode=0o700, exist_ok=True)
            self.instances = [SshdInstance(self, i + 1, ip, self.ids[i]) for i, ip in enumerate(self.ips)]
            self._start_all()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_all(self):
        for _ in range(20):
            port = self.want_port or free_common_port(self.ips)
            if all(inst.start(port) for inst in self.instances):
                self.port = port
                return
            for inst in self.instances:
                inst.stop()
            if self.want_port:
                raise RuntimeError("port %d is taken on one of %s" % (port, ", ".join(self.ips)))
        raise RuntimeError("could not start the sshd fleet: every port tried was taken")

    def stop(self):
        for inst in self.instances:
            inst.stop()
        d, self.dir = self.dir, None
        if d and not os.environ.get("EBSSH_KEEP_TMP"):
            shutil.rmtree(d, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def pids(self):
        return [inst.pid for inst in self.instances if inst.pid]

    # -- clients --------------------------------------------------------------

    def env(self, **extra):
        """An environment for ssh/scp/rsync/ebssh-proxy: a throw-away HOME and
        XDG directories, no ssh-agent, no proxy for loopback."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home,
            "XDG_CACHE_HOME": os.path.join(self.home, "cache"),
            "XDG_CONFIG_HOME": os.path.join(self.home, "config"),
            "LC_ALL": "C",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def cache_dir(self):
        return os.path.join(self.home, "cache", "ebssh")

    def clear_cache(self):
        shutil.rmtree(self.cache_dir(), ignore_errors=True)

    def aliases(self, name, order=None):
        """{alias: instance} for NAME.N and NAMEN of each instance, NAME for
        the first; order: the instances as the environment lists them
        (default the fleet's order)."""
        order = order or self.instances
        out = {name: order[0]}
        for i, inst in enumerate(order, 1):
            out["%s%d" % (name, i)] = inst
            out["%s.%d" % (name, i)] = inst
        return out

    def known_hosts_line(self, alias, inst):
        host = alias if self.port == 22 else "[%s]:%d" % (alias, self.port)
        return "%s %s\n" % (host, inst.host_pub)

    def write_known_hosts(self, path, aliases):
        """known_hosts with each alias -> instance of aliases ({alias: inst}),
        also under the instance's own name ("inst<N>", see HostKeyAlias)."""
        with open(path, "w") as f:
            for alias, inst in aliases.items():
                f.write(self.known_hosts_line(alias, inst))
            for inst in self.instances:  # HostKeyAlias names carry no port
                f.write("inst%d %s\n" % (inst.number, inst.host_pub))
        return path

    def proxy_command(self, endpoint, cache_ttl=30, api_key=None, extra=(), proxy=None):
        """ProxyCommand text: <build>/ebssh-proxy --endpoint URL --cache-ttl S [extra] %h %p."""
        argv = [proxy or os.path.join(BUILD, "ebssh-proxy"), "--endpoint", endpoint,
                "--cache-ttl", str(cache_ttl)]
        if api_key:
            argv += ["--api-key", api_key]
        return " ".join(shlex.quote(a) for a in list(argv) + list(extra)) + " %h %p"

    def write_ssh_config(self, pattern, proxy_command, names=None, aliases=None, path=None, extra=()):
        """An ssh_config for Host pattern through proxy_command (extra: more
        lines for the Host block). Its known_hosts holds aliases ({alias:
        instance}), else the aliases of each environment in names (default:
        pattern without its trailing '*'). Returns the config's path."""
        if aliases is None:
            aliases = {}
            for name in names or [pattern.rstrip("*")]:
                aliases.update(self.aliases(name))
        self.configs += 1
        path = path or os.path.join(self.dir, "ssh_config%d" % self.configs)
        known = path + ".known_hosts"
        self.write_known_hosts(known, aliases)
        lines = [
            "Host %s" % pattern,
            "    User %s" % self.user,
            "    Port %d" % self.port,
            "    ProxyCommand %s" % proxy_command,
            *["    %s" % x for x in extra],
            '    IdentityFile "%s"' % self.user_key,
            "    IdentitiesOnly yes",
            "    IdentityAgent none",
            "    BatchMode yes",
            '    UserKnownHostsFile "%s"' % known,
            "    GlobalKnownHostsFile /dev/null",
            "    StrictHostKeyChecking yes",
            "    CheckHostIP no",
            "    UpdateHostKeys no",
            "    ConnectTimeout 15",
            "    LogLevel ERROR",
        ]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path


def demo_fixture(env, fleet_or_ips, ids=None, private=False):
    """An AWS double fixture: environment env with one running instance per
    address (given oldest first), listed newest first, plus a stopped and a
    terminated instance that must never be answered. With private=True the
    addresses are the instances' private IPs and they have no public one."""
    if isinstance(fleet_or_ips, Fleet):
        ips, ids = fleet_or_ips.ips, ids or fleet_or_ips.ids
    else:
        ips = list(fleet_or_ips)
    ids = ids or ["i-0e2e%013x" % (i + 1) for i in range(len(ips))]
    tags = {"elasticbeanstalk:environment-name": env, "Name": env}
    instances = []
    for i, (ip, iid) in enumerate(zip(ips, ids)):
        instances.append({
            "id": iid,
            "state": "running",
            "launch_time": "2024-06-01T%02d:00:00.000Z" % (8 + i),
            "az": "us-east-1%s" % "abc"[i % 3],
            "public_ip": None if private else ip,
            "private_ip": ip if private else "10.0.%d.%d" % (i + 1, 10 + i),
            "tags": dict(tags),
        })
    instances.reverse()
    salt = sum(ord(c) for c in env) & 0xfff
    instances.append({"id": "i-0e2e5%03x0000000d1" % salt, "state": "stopped",
                      "launch_time": "2024-05-01T00:00:00.000Z", "public_ip": None,
                      "private_ip": "10.0.9.9", "tags": dict(tags)})
    instances.append({"id": "i-0e2e5%03x0000000d2" % salt, "state": "terminated",
                      "launch_time": "2024-05-01T00:00:00.000Z", "tags": dict(tags)})
    return instances


class LookupService:
    """The AWS double holding fixture (a list of instances, see
    tests/doubles/awsdouble/fixtures.py) and build/ebssh-api in front of it
    on 127.0.0.1, requiring x-api-key when api_key is given.

    url, key; lookups(prefix) and log() read ebssh-api's access log;
    stop_api() / start_api() stop and restart ebssh-api on the same port."""

    def __init__(self, fixture=None, api_key=API_KEY, threads=8):
        self.fixture = fixture
        self.key = api_key
        self.threads = threads
        self.aws = None
        self.api = None
        self.port = 0
        self.url = None
        self.logfile = None

    def start(self):
        if self.aws is not None:
            return self
        atexit.register(self.stop)
        self.aws = AwsDouble(max_skew=None).start()
        try:
            if self.fixture is not None:
                self.aws.set_fixture(self.fixture)
            fd, self.logfile = tempfile.mkstemp(prefix="ebssh-api-", suffix=".log")
            os.close(fd)
            self.start_api()
        except BaseException:
            self.stop()
            raise
        return self

    def start_api(self, timeout=10):
        """Starts ebssh-api (on the port it had before, if any)."""
        args = ["--listen", "127.0.0.1:%d" % self.port, "--threads", str(self.threads)]
        if self.key:
            args += ["--api-key", self.key]
        self.api = ApiServer(args, aws_env(self.aws), timeout=timeout, log_path=self.logfile)
        self.port = self.api.port
        self.url = "http://127.0.0.1:%d" % self.port
        return self.url

    def stop_api(self):
        api, self.api = self.api, None
        return api.stop() if api else None

    @property
    def pid(self):
        return self.api.proc.pid if self.api else None

    def stop(self):
        self.stop_api()
        aws, self.aws = self.aws, None
        if aws:
            aws.stop()
        if self.logfile and not os.environ.get("EBSSH_KEEP_TMP"):
            try:
                os.unlink(self.logfile)
            except OSError:
                pass
            self.logfile = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def log(self):
        """ebssh-api's access log: one dict per request answered so far."""
        out = []
        with open(self.logfile, errors="replace") as f:
            for line in f:
                if line.startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
        return out

    def lookups(self, prefix="/eb/"):
        """The access-log entries whose path starts with prefix."""
        return [r for r in self.log() if r.get("path", "").startswith(prefix)]


if __name__ == "__main__":
    # Manual use: a fleet and the service until interrupted.
    with Fleet(3) as fl, LookupService(demo_fixture("demo-env", fl)) as svc:
        cfg = fl.write_ssh_config("demo-env*", fl.proxy_command(svc.url, api_key=svc.key))
        print("ssh -F %s demo-env2 'echo $INSTANCE'   (HOME=%s)" % (cfg, fl.home), flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
