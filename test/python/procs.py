"""Processes, for the suites that stop, kill or count them, read from
/proc (no tool's output to parse)."""

import os


def stat(pid):
    """The fields of /proc/PID/stat after the command's name (state first,
    start time at index 19), or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def alive(pid):
    """Whether pid runs (a zombie does not)."""
    fields = stat(pid)
    return fields is not None and fields[0] != "Z"


def children(pid):
    """The pids of the processes whose parent is pid."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = stat(entry)
            if fields is not None and int(fields[1]) == pid:
                pids.append(int(entry))
    return pids
