#include "CPUID.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

// XGETBV without -mxsave (this file is compiled for baseline x86-64).
static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

void stn_read_cpuid(stn_cpuid_registers *registers) {
    memset(registers, 0, sizeof *registers);
    unsigned int eax, ebx, ecx, edx;
    unsigned int maximum = __get_cpuid_max(0, 0);
    if (maximum >= 1 && __get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
        registers->leaf1ECX = ecx;
        registers->leaf1EDX = edx;
        if (ecx & (1u << 27)) registers->xcr0 = read_xcr0();  // OSXSAVE: XGETBV is enabled
    }
    if (maximum >= 7 && __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        registers->leaf7EBX = ebx;
        registers->leaf7ECX = ecx;
    }
    if (maximum >= 13 && __get_cpuid_count(13, 1, &eax, &ebx, &ecx, &edx)) registers->leaf13EAX = eax;
    if (__get_cpuid_max(0x80000000u, 0) >= 0x80000001u && __get_cpuid(0x80000001u, &eax, &ebx, &ecx, &edx)) {
        registers->extendedLeaf1ECX = ecx;
    }
}
#else
void stn_read_cpuid(stn_cpuid_registers *registers) { memset(registers, 0, sizeof *registers); }
#endif
