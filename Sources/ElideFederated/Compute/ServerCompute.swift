import ElideModels

/// The FedD2S server's steps: training a global head on the clients' uploads and computing its soft labels.
public enum ServerCompute {
    /// Trains `head` for `settings.serverEpochs` epochs on all uploads with
    /// CE(labels) + λ · T² · KL(softmax(clientLogits / T) ‖ softmax(head / T)). `representations` contains
    /// `labels.count` rows of `width` values (the cut-`head.cut` representation) and `clientLogits` as many rows
    /// of `classes` values (the clients' auxiliary-head logits), in the same order.
    public static func trainHead(
        _ head: inout GlobalHead, representations: [Float], width: Int, labels: [Int], clientLogits: [Float],
        settings: TrainingSettings, seed: UInt64
    ) {
        let architecture = head.architecture
        let classes = architecture.classes
        let count = labels.count
        checkRepresentations(head, representations: representations, width: width, count: count)
        precondition(
            clientLogits.count == count * classes,
            "client logits have \(clientLogits.count) values, expected \(count) rows x \(classes) classes")
        let stack = architecture.globalHead(cut: head.cut)
        let batchSize = settings.batchSize
        let workspace = LayerStackWorkspace(stack: stack, maximumBatch: batchSize)
        let inputs = ScratchBuffer(batchSize * width)
        let teacher = ScratchBuffer(batchSize * classes)
        let logitGradient = ScratchBuffer(batchSize * classes)
        let gradient = ScratchBuffer(stack.parameterCount)
        var batchLabels = [Int](repeating: 0, count: batchSize)
        let optimizer = settings.optimizer

        head.parameters.withUnsafeMutableBufferPointer { parameters in
            head.velocity.withUnsafeMutableBufferPointer { velocity in
                representations.withUnsafeBufferPointer { representations in
                    clientLogits.withUnsafeBufferPointer { clientLogits in
                        for epoch in 0..<settings.serverEpochs {
                            let order = MiniBatches.order(count: count, seed: seed, epoch: epoch)
                            for range in MiniBatches.ranges(count: count, batchSize: batchSize) {
                                let batch = range.count
                                MiniBatches.gatherRows(
                                    representations.baseAddress!, width: width, indices: order[range],
                                    into: inputs.pointer)
                                MiniBatches.gatherRows(
                                    clientLogits.baseAddress!, width: classes, indices: order[range],
                                    into: teacher.pointer)
                                for (row, index) in order[range].enumerated() {
                                    batchLabels[row] = labels[index]
                                }
                                let logits = stack.forward(
                                    input: inputs.pointer, batch: batch, parameters: parameters.baseAddress!,
                                    workspace: workspace)
                                _ = batchLabels.withUnsafeBufferPointer { batchLabels in
                                    SoftmaxCrossEntropy.loss(
                                        logits: logits, labels: UnsafeBufferPointer(rebasing: batchLabels[0..<batch]),
                                        classes: classes, gradient: logitGradient.pointer)
                                }
                                DistillationLoss.loss(
                                    student: logits, teacher: teacher.pointer, batch: batch, classes: classes,
                                    temperature: settings.temperature, gradient: logitGradient.pointer,
                                    weight: settings.distillationWeight, accumulate: true)
                                stack.backward(
                                    input: inputs.pointer, outputGradient: logitGradient.pointer, inputGradient: nil,
                                    batch: batch, parameters: parameters.baseAddress!,
                                    parameterGradient: gradient.pointer, workspace: workspace)
                                optimizer.step(
                                    parameters: parameters.baseAddress!, velocity: velocity.baseAddress!,
                                    gradient: gradient.pointer, count: stack.parameterCount)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Computes the head's logits (rows × classes) on `representations` (rows × `width`), in the same order.
    public static func logits(_ head: GlobalHead, representations: [Float], width: Int) -> [Float] {
        let count = width == 0 ? 0 : representations.count / width
        checkRepresentations(head, representations: representations, width: width, count: count)
        let stack = head.architecture.globalHead(cut: head.cut)
        let classes = head.architecture.classes
        let batchSize = MiniBatches.inferenceBatchSize
        let workspace = LayerStackWorkspace(stack: stack, maximumBatch: batchSize)
        var logits = [Float](repeating: 0, count: count * classes)
        head.parameters.withUnsafeBufferPointer { parameters in
            representations.withUnsafeBufferPointer { representations in
                logits.withUnsafeMutableBufferPointer { logits in
                    for range in MiniBatches.ranges(count: count, batchSize: batchSize) {
                        let output = stack.forward(
                            input: representations.baseAddress! + range.lowerBound * width, batch: range.count,
                            parameters: parameters.baseAddress!, workspace: workspace)
                        (logits.baseAddress! + range.lowerBound * classes).update(
                            from: output, count: range.count * classes)
                    }
                }
            }
        }
        return logits
    }

    private static func checkRepresentations(_ head: GlobalHead, representations: [Float], width: Int, count: Int) {
        precondition(
            width == head.inputWidth,
            "representations have width \(width), but the head for cut \(head.cut) reads \(head.inputWidth)")
        precondition(
            representations.count == count * width,
            "representations have \(representations.count) values, expected \(count) rows x \(width)")
    }
}
