"""The daemon's CPU per dashboard request: starts a futured (--http_listen on
loopback) holding 5,000 retained futures, asks each endpoint N times on one
kept-alive connection and reads the daemon's CPU time from /proc.
  python3 bench/dashboard/poll_cost.py [BUILD_DIR]   (default build-rel)"""
import http.client
import os
import subprocess
import sys
import time

build = sys.argv[1] if len(sys.argv) > 1 else 'build-rel'
daemon = subprocess.Popen(
    [build + '/server/futured', '--listen=127.0.0.1:0', '--http_listen=127.0.0.1:0'],
    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    address = url = None
    while url is None:
        line = daemon.stdout.readline()
        if not line:
            sys.exit('futured did not start')
        if 'listening on' in line:
            address = line.split()[3]
        if 'dashboard on' in line:
            url = line.split()[3]
    subprocess.run([build + '/bench/futured-bench', '--target=' + address,
                    '--daemon_pid=%d' % daemon.pid, '--workloads=retained',
                    '--retained=5000'], capture_output=True, check=True)
    host, port = url[len('http://'):].rstrip('/').split(':')
    ticks = os.sysconf('SC_CLK_TCK')

    def cpu_seconds():
        fields = open('/proc/%d/stat' % daemon.pid).read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    n = 300
    for path in ['/api/overview', '/api/futures', '/api/futures?state=failed']:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request('GET', path)
        size = len(connection.getresponse().read())
        before, start = cpu_seconds(), time.monotonic()
        for _ in range(n):
            connection.request('GET', path)
            connection.getresponse().read()
        wall, used = time.monotonic() - start, cpu_seconds() - before
        print('%-26s %6d bytes  %.2f ms wall  %.2f ms daemon CPU per request'
              % (path, size, wall / n * 1e3, used / n * 1e3))
        connection.close()
finally:
    daemon.terminate()
    daemon.wait()
