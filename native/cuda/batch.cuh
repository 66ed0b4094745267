// A step's small inputs, written on the device by one tiny launch before the step's graph runs: the batch's
// dataset rows (from the epoch's shuffled indices, uploaded once), their labels, and the step's state. The
// graph itself then never changes: only this launch's arguments do.
#pragma once

#include "adam_math.h"
#include "device_compat.cuh"

/** What a training step's graph reads besides the model and the batch. */
struct StepState {
  AdamScalars adam;     // this step's Adam scalars
  int loss_not_finite;  // set by the output layer when a row's loss is NaN or infinite: Adam then skips the step
};

/**
 * rows(B) = indices[offset + b] (or offset + b when indices is nullptr: the dataset in order);
 * labels(B) = dataset_labels[rows[b]]; when state is not nullptr, *state = {adam, 0}.
 */
void batch_prepare(int* rows, int* labels, StepState* state, const int* indices, int offset, int B,
                   const int* dataset_labels, const AdamScalars& adam, cudaStream_t stream);
