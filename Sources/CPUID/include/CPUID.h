// The processor's feature registers, for choosing the kernels at start-up (STNKernels'
// ISA): what CPUID reports and which register states the OS saves (XCR0, via XGETBV).
#ifndef STN_CPUID_H
#define STN_CPUID_H

#include <stdint.h>

typedef struct {
    uint32_t leaf1ECX, leaf1EDX;          // CPUID 1: SSE3 ... AVX, F16C, FMA, OSXSAVE; SSE, SSE2
    uint32_t leaf7EBX, leaf7ECX;          // CPUID 7.0: AVX2, BMI1/2, AVX-512 F/DQ/CD/BW/VL, ...
    uint32_t extendedLeaf1ECX;            // CPUID 0x80000001: LAHF/SAHF, LZCNT, PREFETCHW
    uint32_t leaf13EAX;                   // CPUID 0xD.1: XSAVEOPT, XSAVEC, XSAVES
    uint64_t xcr0;                        // XGETBV(0) when OSXSAVE is set, else 0
} stn_cpuid_registers;

// Fills `registers`; every field is zero on a processor that is not x86-64 or lacks a leaf.
void stn_read_cpuid(stn_cpuid_registers *registers);

#endif
