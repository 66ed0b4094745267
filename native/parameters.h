// The four flat buffers of a model, held by the caller, in PyTorch's state_dict order and layout.
#pragma once

namespace fcnet {

struct ParameterPointers {
  float* params;
  float* grads;
  float* m;
  float* v;
};

}  // namespace fcnet
