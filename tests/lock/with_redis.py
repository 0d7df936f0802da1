"""Runs a test program with a private redis-server: H5SWMRFS_TEST_REDIS=redis://127.0.0.1:PORT/0."""
import os
import subprocess
import sys

from lockfixture import RedisServer

with RedisServer() as server:
    env = dict(os.environ, H5SWMRFS_TEST_REDIS=server.url)
    sys.exit(subprocess.run(sys.argv[1:], env=env).returncode)
