// The C maths the kernels use, for Embedded Swift builds only (tools/ci/test-arm).
//
// The kernels import `Glibc` when it exists and `Darwin` otherwise; a bare-metal target
// (aarch64-none-none-elf, armv7em-none-none-eabi) has neither, so this tiny module stands in
// for `Darwin` there and declares the libm functions they call. The same names and
// signatures as the Glibc overlay's Float/Double versions, so the kernels' sources are
// compiled unchanged and call the same C functions (expf, logf, ...) as on Linux.

@_extern(c, "expf") public func exp(_ x: Float) -> Float
@_extern(c, "logf") public func log(_ x: Float) -> Float
@_extern(c, "exp") public func exp(_ x: Double) -> Double
@_extern(c, "log") public func log(_ x: Double) -> Double
