// control/flows_command.cc: `sockswitch flows check` and `sockswitch trace`.
