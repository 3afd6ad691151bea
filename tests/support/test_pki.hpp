// Throwaway certificates for TLS tests, made with the OpenSSL API at test time so that nothing
// secret or expiring is kept in the tree.
#pragma once

#include <filesystem>

namespace fieldlog::testing {

// PEM files written into one directory:
//   ca.pem          the CA that signed server.crt and client.crt
//   server.crt/key  for 127.0.0.1 and localhost (subjectAltName), serverAuth
//   client.crt/key  a device's client certificate (clientAuth), CN handheld-01
//   other-ca.pem    a CA that signed nothing here: trusting it, a client refuses the server
//   stranger.crt    a client certificate other-ca signed, for client.key
// Keys are written mode 0600. Throws std::runtime_error when OpenSSL or a write fails.
struct TestPki {
    explicit TestPki(const std::filesystem::path& dir);

    std::filesystem::path ca;
    std::filesystem::path other_ca;
    std::filesystem::path server_cert;
    std::filesystem::path server_key;
    std::filesystem::path client_cert;
    std::filesystem::path client_key;
    std::filesystem::path stranger_cert;
};

}  // namespace fieldlog::testing
