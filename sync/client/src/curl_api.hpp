// libcurl, loaded on first use. fieldlogd does not link libcurl: with its TLS, Kerberos, LDAP
// and RTMP libraries it maps about 3.5 MiB of resident memory, a fifth of an offline device's
// budget, so only a daemon with [sync] configured loads it.
#pragma once

#include <curl/curl.h>

#include "fieldlog/error.hpp"

namespace fieldlog::sync::client::detail {

// The libcurl functions the transport uses, with libcurl's own declared types.
struct CurlApi {
    decltype(&::curl_global_init) global_init = nullptr;
    decltype(&::curl_easy_init) easy_init = nullptr;
    decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
    decltype(&::curl_easy_setopt) easy_setopt = nullptr;
    decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
    decltype(&::curl_easy_strerror) easy_strerror = nullptr;
    decltype(&::curl_multi_init) multi_init = nullptr;
    decltype(&::curl_multi_cleanup) multi_cleanup = nullptr;
    decltype(&::curl_multi_setopt) multi_setopt = nullptr;
    decltype(&::curl_multi_add_handle) multi_add_handle = nullptr;
    decltype(&::curl_multi_remove_handle) multi_remove_handle = nullptr;
    decltype(&::curl_multi_assign) multi_assign = nullptr;
    decltype(&::curl_multi_socket_action) multi_socket_action = nullptr;
    decltype(&::curl_multi_info_read) multi_info_read = nullptr;
    decltype(&::curl_multi_strerror) multi_strerror = nullptr;
    decltype(&::curl_slist_append) slist_append = nullptr;
    decltype(&::curl_slist_free_all) slist_free_all = nullptr;
};

// Loads libcurl once (and runs curl_global_init), or says why it cannot. Thread-safe.
[[nodiscard]] Result<const CurlApi*> load_curl();

// The loaded API; only after load_curl() succeeded.
const CurlApi& curl();

}  // namespace fieldlog::sync::client::detail
