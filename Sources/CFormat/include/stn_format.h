// One printf conversion of one number, for the tools' output (STNCommandLine.formatted):
// Swift's variadic path (withVaList over [CVarArg]) casts each argument at run time, and
// the first such casts of a process cost more than the line they format.
#ifndef STN_FORMAT_H
#define STN_FORMAT_H

#include <stddef.h>

/// snprintf(buffer, size, format, value) for a format with one floating-point conversion.
int stn_format_double(char *buffer, size_t size, const char *format, double value);

/// snprintf(buffer, size, format, value) for a format with one `ll` integer conversion.
int stn_format_integer(char *buffer, size_t size, const char *format, long long value);

#endif
