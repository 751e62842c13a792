import STNKernelInterface
internal import STNKernels

#if STN_DISPATCH
    internal import STNKernelsAVX2
    internal import STNKernelsAVX512
#endif

extension KernelTable {
    /// The kernels compiled for `isa`, which this process must be able to run
    /// (`ISA.available`): the table a plan binds once, when it is built.
    public init(_ isa: ISA) {
        if let reason = isa.unavailableReason { preconditionFailure("no \(isa) kernels: \(reason)") }
        #if STN_DISPATCH
            switch isa {
            case .avx512: self = STNKernelsAVX512.kernelTable
            case .avx2: self = STNKernelsAVX2.kernelTable
            case .portable: self = STNKernels.kernelTable
            }
        #else
            self = STNKernels.kernelTable  // the one copy a build without dispatch carries
        #endif
    }

    /// The table of the selected ISA (`ISA.active`): what a plan binds unless told otherwise.
    public static var active: KernelTable { KernelTable(ISA.active) }
}
