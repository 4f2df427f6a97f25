#!/usr/bin/python3
"""Concurrent clients POSTing unique emails to /users until a stop file appears.

One line per request, written as it completes:
    <start, epoch seconds> <duration, seconds> <status, 0 = no answer> <email>
Threads and keep-alive connections in one process: a shell loop forking curl
spends more on process start-up than the service spends on the request.
usage: write_load.py PORT CLIENTS OUT_FILE STOP_FILE
"""
import http.client
import json
import os
import sys
import threading
import time

port, clients, out_path, stop_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
lock = threading.Lock()
out = open(out_path, "a", buffering=1)


def client(number):
    connection = None
    sent = 0
    while not os.path.exists(stop_path):
        sent += 1
        email = f"c{number}-{sent}@ha.example.com"
        body = json.dumps({"username": f"c{number}-{sent}", "email": email})
        started = time.time()
        status = 0
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            connection.request("POST", "/users", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException):
            if connection is not None:
                connection.close()
            connection = None
        with lock:
            out.write(f"{started:.6f} {time.time() - started:.6f} {status} {email}\n")


threads = [threading.Thread(target=client, args=(n,)) for n in range(1, clients + 1)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
