"""Devices under test: sockswitch (one engine), the Linux bridge, OVS userspace."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

from common import DUT_PATH, NS_DUT, TrafficPath, machine_ticks, nsexec, proc_ticks, run
from topology import veth


# --- devices under test ---------------------------------------------------------

PORTS = [("nm-server", 1), ("warp0", 2), ("veth102", 3)]


class Dut:
    name = ""
    cases: tuple[str, ...] = ("l2",)
    start_flows = "l2"  # the flow file start() gets (a key of topology.write_flow_files)

    def path(self) -> TrafficPath:
        return DUT_PATH

    def start(self, flows: Path) -> None: ...

    def set_flows(self, flows: Path) -> None: ...

    def stop(self) -> None: ...

    def pid(self) -> int | None:
        return None

    def cpu_ticks(self) -> int:
        p = self.pid()
        return proc_ticks(p) if p else machine_ticks()[1]

    cpu_source = "process utime+stime"


class Sockswitch(Dut):
    def __init__(self, build: Path, engine: str, tmp: Path, cases: tuple[str, ...],
                 patch: bool = False, name: str | None = None, ns: str = NS_DUT,
                 wrap: Callable[[list[str]], list[str]] | None = None):
        self.bin = build / "sockswitch"
        self.engine = engine
        self.patch = patch
        self.name = name or f"sockswitch-{engine}" + ("-patch" if patch else "")
        self.ns = ns  # the namespace it runs in
        self.wrap = wrap or (lambda argv: argv)  # what `sockswitch run` runs inside
        self.cases = cases
        self.dir = tmp / self.name
        self.dir.mkdir()
        self.sock = self.dir / "ctl.sock"
        self.proc: subprocess.Popen | None = None

    def layout(self) -> list[tuple[str, list[tuple[str, int, list[str]]]]]:
        """Bridges -> ports: (name, ofport, the port's config lines)."""
        if self.patch:
            # Patch-pair variant: bridge b1 (generator side) and b2 (sink side) joined
            # in-process by the patch ports p1/p2, actions=normal on both.
            return [("b1", [("warp0", 2, self.driver_lines("warp0", 0)),
                            ("p1", 1, ['driver = "patch"', 'peer = "p2"'])]),
                    ("b2", [("p2", 1, ['driver = "patch"', 'peer = "p1"']),
                            ("veth102", 3, self.driver_lines("veth102", 1))])]
        return [("socket", [(port, ofport, self.driver_lines(port, i))
                            for i, (port, ofport) in enumerate(PORTS)])]

    def driver_lines(self, port: str, index: int) -> list[str]:
        if self.engine == "dpdk":
            return ['driver = "dpdk"', f'dpdk_devargs = "net_af_packet{index},iface={port}"']
        return [f'driver = "{self.engine}"']

    def start(self, flows: Path) -> None:
        cfg = [f'control_socket = "{self.sock}"', 'log_level = "warn"']
        names = []
        for bridge, ports in self.layout():
            cfg += ["", "[[bridge]]", f'name = "{bridge}"', f'flows = "{flows}"']
            for port, ofport, lines in ports:
                cfg += ["", "[[bridge.port]]", f'name = "{port}"', f"ofport = {ofport}", *lines]
                names.append(port)
        conf = self.dir / "sockswitch.toml"
        conf.write_text("\n".join(cfg) + "\n")
        self.logf = open(self.dir / "sockswitch.log", "w")
        self.proc = subprocess.Popen(
            nsexec(self.ns, self.wrap([str(self.bin), "run", "--config", str(conf),
                                       "--control-socket", str(self.sock)])),
            stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sockswitch exited: {(self.dir / 'sockswitch.log').read_text()}")
            if self.sock.exists():
                try:
                    out = self.ctl("show")
                    if all(n in out for n in names):
                        return
                except (RuntimeError, subprocess.TimeoutExpired):
                    pass
            time.sleep(0.1)
        raise RuntimeError("sockswitch did not come up within 20 s")

    def ctl(self, *args: str) -> str:
        return run([str(self.bin), "ctl", "--socket", str(self.sock), *args], timeout=10)

    def set_flows(self, flows: Path) -> None:
        self.ctl("replace-flows", "socket", str(flows))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None


class LinuxBridge(Dut):
    name = "linux-bridge"
    cpu_source = "machine softirq time (/proc/stat)"

    def start(self, flows: Path) -> None:
        run(["ip", "-n", NS_DUT, "link", "add", "br0", "type", "bridge"])
        for port, _ in PORTS:
            run(["ip", "-n", NS_DUT, "link", "set", port, "master", "br0"])
        run(["ip", "-n", NS_DUT, "link", "set", "br0", "up"])

    def stop(self) -> None:
        for port, _ in PORTS:
            run(["ip", "-n", NS_DUT, "link", "set", port, "nomaster"], check=False)
        run(["ip", "-n", NS_DUT, "link", "del", "br0"], check=False)


class LinuxBridgePair(Dut):
    """Patch-pair variant: lbr0 (warp0) and lbr1 (veth102) joined by the veth pair lp0/lp1."""
    name = "linux-bridge-pair"
    cpu_source = "machine softirq time (/proc/stat)"

    def __init__(self, cases: tuple[str, ...] = ("patch",)):
        self.cases = cases

    def start(self, flows: Path) -> None:
        veth("lp0", NS_DUT, "lp1", NS_DUT)
        for br, ports in (("lbr0", ("warp0", "lp0")), ("lbr1", ("lp1", "veth102"))):
            run(["ip", "-n", NS_DUT, "link", "add", br, "type", "bridge"])
            for port in ports:
                run(["ip", "-n", NS_DUT, "link", "set", port, "master", br])
            run(["ip", "-n", NS_DUT, "link", "set", br, "up"])

    def stop(self) -> None:
        for port in ("warp0", "veth102"):
            run(["ip", "-n", NS_DUT, "link", "set", port, "nomaster"], check=False)
        for dev in ("lbr0", "lbr1", "lp0"):
            run(["ip", "-n", NS_DUT, "link", "del", dev], check=False)


class Ovs(Dut):
    name = "ovs-netdev"
    # The userspace datapath's tap devices (datapath, bridges' LOCAL ports) are persistent:
    # they outlive ovs-vswitchd and would be reused, or block a Linux bridge of that name.
    taps: tuple[str, ...] = ("ovs-netdev", "br0")

    def __init__(self, tmp: Path, cases: tuple[str, ...]):
        self.cases = cases
        self.dir = tmp / self.name
        self.dir.mkdir()
        self.env = dict(os.environ, OVS_RUNDIR=str(self.dir), OVS_DBDIR=str(self.dir),
                        OVS_LOGDIR=str(self.dir), OVS_PKGDATADIR=str(self.dir),
                        OVS_SYSCONFDIR=str(self.dir), OVS_BINDIR="/usr/bin")
        self.db = f"unix:{self.dir}/db.sock"
        self.vswitchd_pid: int | None = None

    def vsctl(self, *args: str) -> str:
        return run(["ovs-vsctl", f"--db={self.db}", "--timeout=20", *args], env=self.env)

    def ofctl(self, *args: str) -> str:
        return run(["ovs-ofctl", *args], env=self.env)

    def start(self, flows: Path) -> None:
        d = self.dir
        shutil.copy("/usr/share/openvswitch/vswitch.ovsschema", d / "vswitch.ovsschema")
        run(["ovsdb-tool", "create", str(d / "conf.db"), str(d / "vswitch.ovsschema")],
            env=self.env)
        run(["ovsdb-server", str(d / "conf.db"), f"--remote=punix:{d}/db.sock",
             f"--pidfile={d}/ovsdb-server.pid", "--detach", f"--log-file={d}/ovsdb-server.log",
             f"--unixctl={d}/ovsdb-server.ctl"], env=self.env)
        self.vsctl("--no-wait", "init")
        run(nsexec(NS_DUT, ["ovs-vswitchd", self.db, f"--pidfile={d}/ovs-vswitchd.pid",
                            "--detach", f"--log-file={d}/ovs-vswitchd.log",
                            f"--unixctl={d}/ovs-vswitchd.ctl"]), env=self.env)
        self.vswitchd_pid = int((d / "ovs-vswitchd.pid").read_text())
        self.vsctl(*self.bridge_args())
        self.set_flows(flows)

    def bridge_args(self) -> list[str]:
        args = ["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev",
                "fail_mode=secure"]
        for port, ofport in PORTS:
            args += ["--", "add-port", "br0", port, "--", "set", "Interface", port,
                     f"ofport_request={ofport}"]
        return args

    def set_flows(self, flows: Path) -> None:
        # OpenFlow 1.3: flows in tables past 0 with ct fields need OXM (1.0 offers
        # ovs-ofctl no flow format for them here).
        self.ofctl("-O", "OpenFlow13", "replace-flows", "br0", str(flows))

    def stop(self) -> None:
        # Both daemons are told at once and given a second: each takes about that long to
        # exit cleanly, and nothing they would clean up is needed (the taps go below).
        pids = []
        for daemon in ("ovs-vswitchd", "ovsdb-server"):
            pidfile = self.dir / f"{daemon}.pid"
            if not pidfile.exists():
                continue
            try:
                pid = int(pidfile.read_text())
                os.kill(pid, signal.SIGTERM)
                pids.append(pid)
            except (ValueError, ProcessLookupError):
                pass
            pidfile.unlink(missing_ok=True)
        deadline = time.time() + 1
        while pids and time.time() < deadline:
            pids = [p for p in pids if Path(f"/proc/{p}").exists()]
            time.sleep(0.05)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.vswitchd_pid:
            for tap in self.taps:
                run(["ip", "-n", NS_DUT, "link", "del", tap], check=False)
        self.vswitchd_pid = None

    def pid(self) -> int | None:
        return self.vswitchd_pid


class OvsPatch(Ovs):
    """Patch-pair variant: netdev bridges pbr0 (warp0) and pbr1 (veth102) joined by OVS patch ports."""
    name = "ovs-netdev-patch"
    taps = ("ovs-netdev", "pbr0", "pbr1")

    def __init__(self, tmp: Path, cases: tuple[str, ...] = ("patch",)):
        super().__init__(tmp, cases)

    def bridge_args(self) -> list[str]:
        args: list[str] = []
        for br, port, ofport, patch, peer in (("pbr0", "warp0", 2, "pb0", "pb1"),
                                               ("pbr1", "veth102", 3, "pb1", "pb0")):
            args += ["--", "add-br", br, "--", "set", "bridge", br, "datapath_type=netdev",
                     "fail_mode=secure",
                     "--", "add-port", br, port, "--", "set", "Interface", port,
                     f"ofport_request={ofport}",
                     "--", "add-port", br, patch, "--", "set", "Interface", patch, "type=patch",
                     f"options:peer={peer}", "ofport_request=1"]
        return args[1:]

    def set_flows(self, flows: Path) -> None:
        for br in ("pbr0", "pbr1"):
            self.ofctl("replace-flows", br, str(flows))
