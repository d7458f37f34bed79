"""Listen on a syslog datagram socket and append each message to a file.

Usage: syslog_sink.py SOCKET_PATH OUT_FILE
Runs until killed. Used by test_operations.sh to see what a daemonized
hexzfs sends to syslog(3), which writes to /dev/log.
"""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
if os.path.exists(path):
    os.unlink(path)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o666)
with open(out, "ab", buffering=0) as f:
    f.write(b"")  # the file exists once the socket listens
    while True:
        data = sock.recv(65536)
        f.write(data + b"\n")
