#!/usr/bin/python3
"""A short stress run of tools/stress (docs/STRESS.md) as a test: two
mounts, readers, writers, an h5py program and the crossing workers for 45 s
(or the --seconds given) with every fault of `--faults all` (or the
--faults given); passes when tools/stress exits 0 (every invariant held).

Fails where mounts cannot be made (no /dev/fuse, fusermount3, redis-server,
redis-cli or h5dump, or not root: the tool mounts a tmpfs for the disk-full
fault and makes network namespaces for --netns): the test command installs
all of it, so a skip would only hide a problem. The daemon and h5swmrfs-ctl
come from $H5SWMRFS and $H5SWMRFS_CTL (set by tests/stress/meson.build).
Extra arguments go to tools/stress (a later --seconds or --faults wins);
H5SWMRFS_STRESS_SECONDS overrides the default length.
"""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'tools',
                    'stress')


def skip_reason(netns):
    if not os.path.exists('/dev/fuse'):
        return '/dev/fuse is missing'
    tools = ['fusermount3', 'redis-server', 'redis-cli', 'h5dump', 'setfattr']
    if netns:
        tools.append('ip')
    for tool in tools:
        if shutil.which(tool) is None:
            return tool + ' is missing'
    if os.geteuid() != 0:
        return 'needs root (tmpfs for the disk-full fault, network namespaces)'
    return None


def main(argv):
    reason = skip_reason('--netns' in argv[1:])
    if reason:
        print('cannot run:', reason)
        return 1
    seconds = os.environ.get('H5SWMRFS_STRESS_SECONDS', '45')
    args = ['/usr/bin/python3', TOOL, '--seconds', seconds, '--faults',
            'all', '--keep-on-failure'] + argv[1:]
    for opt, var in (('--daemon', 'H5SWMRFS'), ('--ctl', 'H5SWMRFS_CTL')):
        if os.environ.get(var):
            args += [opt, os.environ[var]]
    print('running:', ' '.join(args), flush=True)
    # tools/stress cleans up after itself (also when it gets SIGTERM from
    # meson's timeout); its exit status is the verdict.
    status = subprocess.call(args)
    if status not in (0, 1):
        print('tools/stress could not run (status %d)' % status)
    return 0 if status == 0 else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
