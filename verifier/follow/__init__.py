"""Following a log over HTTP through its tiles (C2SP tlog-tiles), as witnesses and monitors
do: fetch with limits, keep a local copy, check consistency and replay the rulebook."""
