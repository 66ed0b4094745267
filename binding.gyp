{
  "targets": [
    {
      "target_name": "fcnet",
      "sources": ["native/binding.cc", "native/kernels.cc", "native/gemm.cc", "native/sparse_tiles.cc", "native/thread_team.cc", "native/network.cc", "native/network_binding.cc", "native/linear_tiles.cc", "native/losses.cc", "native/optimizer_loops.cc", "native/thin_linear.cc", "native/column_groups.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "<!@(node scripts/find-blas.js defines)"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-Wno-psabi", "<!@(node scripts/find-blas.js cflags)"],
      "libraries": ["<!@(node scripts/find-blas.js libs)"]
    }
  ]
}
