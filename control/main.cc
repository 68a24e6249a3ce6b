// control/main.cc: the sockswitch command line.
int main() { return 0; }
