/* WAL framing and record codec tests: prints "N passed, M failed" and exits
 * non-zero on any failure. */
#include <stdlib.h>

#include "test_util.h"

long cs_test_passed, cs_test_failed;

int main(void) {
    cs_test_kat();
    cs_test_record();
    cs_test_frame();
    cs_test_reader();
    printf("%ld passed, %ld failed\n", cs_test_passed, cs_test_failed);
    return cs_test_failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
