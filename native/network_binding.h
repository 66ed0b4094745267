// The JS class Network: the engine of network.h behind argument checks.
#pragma once

#include <napi.h>

namespace fcnet_napi {
Napi::Function network_class(Napi::Env env);
}
