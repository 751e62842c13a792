#include "stn_format.h"

#include <stdio.h>

int stn_format_double(char *buffer, size_t size, const char *format, double value) {
    return snprintf(buffer, size, format, value);
}

int stn_format_integer(char *buffer, size_t size, const char *format, long long value) {
    return snprintf(buffer, size, format, value);
}
