// Package kernels holds the numerical kernels brainvq's model is made of, over plain float32 slices:
// single-precision matrix multiply (Sgemm), 2D convolution and its two backward passes (which also give the
// transposed convolution), the vector quantiser's nearest-code search, and elementwise ReLU, ReLU backward,
// addition and channel sums. Each fast kernel has a plain reference implementation beside it that the tests
// compare against.
//
// All arrays are row-major; images and activations are NCHW.
//
// How the convolutions run (conv_gemm.go, conv_packed.go, conv_implicit.go): a call packs its weights once
// into the micro-kernel's panel layout, then hands (image, band of output rows) tasks to parallel.Threads()
// goroutines as they come free. Where the output rows are a multiple of 32 wide, a task copies the rows
// its band reads, zero-padded, and an 8×32 AVX-512 micro-kernel reads the patches from that copy through
// offsets (implicit GEMM); otherwise the patches are gathered into packed panels first. The weight gradient
// gathers each band's patches into the row-layout panels of the 14×32 micro-kernel. Strided convolutions
// are split into stride phases. Bias, ReLU and residual accumulation are folded into the products.
//
// Where the implicit kernels run, the two kinds of convolution that carry most of the residual model's
// arithmetic take Winograd's minimal filtering algorithms instead, in all three passes (winograd.go,
// winograd22.go): 3×3 stride-1 pad-1 convolutions F(2×2, 3×3), 16 products per 4×4 input tile in place of
// 36 multiply-adds per 2×2 output block; 4×4 stride-2 pad-1 convolutions and their transposes, as 2×2
// correlations over stride phases, F(2×2, 2×2), 9 in place of 16. Backward data is the same kind of
// correlation with flipped weights; the weight gradient is a product of the transformed input and the
// transformed output gradient. The products run on the same micro-kernels; the tile transforms, which
// only add and subtract, are AVX-512 and AVX2 assembly. The residual model's arithmetic per image falls
// from 5.70 to 3.09 GFLOP (inference) and from 17.1 to 9.25 (training step). Measured on a Zen 5 (gobench,
// residual, batch 16, images per CPU-second): inference 24–26 → 35–37, training 8.6–8.9 → 11.9–12.9.
//
// Three instruction-set paths compute the same values (up to float32 rounding), chosen once at start-up:
//   - avx512 (amd64 with AVX-512F and FMA): everything above.
//   - avx2 (amd64 with AVX2 and FMA, no AVX-512): Sgemm and the convolutions' packed products run 6×16
//     register blocks (12 ymm accumulators) over the same 32-column B panels, Sgemm copying rows of A in
//     place of packing them and the convolutions packing their weights 12 rows tall; where the AVX-512
//     path reads patches in place (implicit GEMM), so does this one, with 6×16 blocks that load each B
//     row through its offset (implicit_avx2_amd64.s), each 32-column tile as two 16-column halves; the
//     weight gradient gathers patches into the same row-layout panels as the AVX-512 path and runs the
//     6×16 blocks over them (ks = 1). RowGemm, ReLU, ReLU backward, Add and the channel sums have AVX2
//     loops; the quantiser's scan and the stride-2 shuffles take Go loops. On a Zen 5 the AVX2 training
//     step spends 80 % of its CPU time in these blocks, at ≈ 83 % of the FMA peak of 256-bit vectors.
//   - generic: pure Go, on every architecture (sgemm_generic.go). Its micro-kernel computes a tile in 2×4
//     blocks of scalar accumulators (what fits amd64's 15 float registers without spilling) whose k loop
//     is one basic block: panel bounds are checked once per tile, the loop steps with unsafe.Add, and it
//     accumulates −a·b (acc −= a·b leaves the sum in the accumulator's register; += made Go move all
//     eight back every step). k runs in chunks of 128 so that A and the B strip stay in L1. Measured with
//     BRAINVQ_ISA=generic, one thread, per CPU-second, on a shared 2-vCPU AMD EPYC (Zen 3), before → after:
//     Sgemm 4096×1152×128 2.1 → 4.5 GFLOP/s, 4096×128×1152 2.6 → 4.5, 1152×4096×128 2.0 → 4.2; the
//     residual block's 3×3 convolution (128→32, 64×64, batch 16) forward 1.7 → 3.6, backward data
//     1.7 → 3.3, backward filter 1.7 → 3.1; its 1×1 convolution 1.4 → 2.9, 1.5 → 4.7, 1.7 → 4.4. The
//     whole residual training step (core/train BenchmarkTrainStep/residual, GOMAXPROCS=1, the two builds
//     side by side, one core each): 0.165 → 0.376 img/s, 2.28×.
//
// The best path the CPU runs is taken unless the environment says otherwise: BRAINVQ_ISA=avx512, avx2 or
// generic forces one, and BRAINVQ_NOASM=1 means generic (it wins over BRAINVQ_ISA). Asking for a path the
// CPU cannot run, or for an unknown name, prints one warning to standard error and takes the best path that
// runs (a warning rather than an error, so that a script made on one machine still runs on another). ISA
// reports the path taken.
//
// On arm64 a fourth path, neon, is the default (Advanced SIMD is part of every ARMv8-A CPU, so there is
// nothing to detect; BRAINVQ_ISA=generic or BRAINVQ_NOASM=1 takes the pure-Go kernels instead). Sgemm and
// the convolutions' packed products run 6×16 register blocks (24 of the 32 128-bit registers accumulate;
// each k step is one 64-byte load of a B row, one or two loads of A and 24 FMLAs by element) over the same
// 32-column B panels, with 4- and 2-row blocks for the rows left over; Sgemm packs A in 6-row k-major
// panels (A stored transposed is read in place). RowGemm runs 4×16 blocks. Everything else takes the Go
// loops. scripts/test_arm64.sh cross-compiles the tests and runs them under qemu-user.
package kernels
