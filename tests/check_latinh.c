#include "test_plugins.h"
int main(void) { return 0; }
