// The JS class SparseTrainer: the fused sparse training step (sparse_trainer.h) behind argument checks.
#pragma once

#include <napi.h>

namespace fcnet_napi {
Napi::Function sparse_trainer_class(Napi::Env env);
}
