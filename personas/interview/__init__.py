"""The interview: outline, transcript store, interview agent, terminal and web front ends, simulated interviewee."""
