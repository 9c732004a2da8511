{
  # portsnare's native addon: sockets and packet capture (libpcap) that Node's
  # own APIs cannot do correctly, and nftables commands in-process (libnftables). Output: native/build/Release/portsnare_native.node,
  # loaded only by src/native.ts.
  "targets": [
    {
      "target_name": "portsnare_native",
      "sources": [
        "src/addon.cc", "src/capture.cc", "src/nft_run.cc", "src/peer_cred.cc", "src/port_probe.cc",
        "src/tcp_trap.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
      # node's common.gypi adds -std=gnu++17; replace it rather than pass both.
      "cflags_cc!": ["-std=gnu++17"],
      "cflags_cc": ["-O2", "-std=c++17", "-Wall", "-Wextra"],
      # libnftables is opened with dlopen (src/nft_run.cc): no header or link-time dependency.
      "libraries": ["-lpcap", "-ldl"]
    }
  ]
}
