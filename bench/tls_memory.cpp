// The memory OpenSSL itself keeps per idle, established server-side TLS connection, with Parley's
// settings: the floor under the RSS-per-idle-session target that docs/PERFORMANCE.md quotes.
// Every OpenSSL allocation goes through counting hooks (CRYPTO_set_mem_functions); after a warm-up
// (provider caches and other one-time state), N connections are made over socketpair()s, each
// handshake driven to the end in this thread, ~200 bytes exchanged each way, the client freed;
// what stays live is the server side only.
//
//   ninja -C build-bench tls_memory && build-bench/bench/tls_memory [--connections N]
//
// The server SSL_CTX is Parley's own (ServerContexts, over a self-signed P-256 certificate); the
// per-connection settings are TlsSocket's, replicated here since TlsSocket needs an Asio socket.
// OpenSSL's socket BIO stands in for Parley's: both are one BIO object allocated by OpenSSL. The
// client sends SNI, as XMPP clients do; the server keeps the name (2 allocations, 20 bytes).
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/tls/self_signed.hpp"
#include "core/tls/server_contexts.hpp"

namespace {

namespace tls = parley::core::tls;

// The hooks are C callbacks without a user pointer, hence this file's only global state. One
// thread; every live block sits in an intrusive list so the largest ones can be found later.
struct alignas(16) Block {
  Block* prev;
  Block* next;
  std::size_t size;
  bool measured;  // allocated after the warm-up
};
Block g_live{&g_live, &g_live, 0, false};
std::size_t g_bytes = 0;
std::size_t g_count = 0;
bool g_measuring = false;

void* counted_malloc(std::size_t size, const char*, int) {
  auto* b = static_cast<Block*>(std::malloc(sizeof(Block) + size));
  if (b == nullptr) return nullptr;
  *b = Block{&g_live, g_live.next, size, g_measuring};
  g_live.next->prev = b;
  g_live.next = b;
  g_bytes += size;
  ++g_count;
  return b + 1;
}

void counted_free(void* p, const char*, int) {
  if (p == nullptr) return;
  Block* b = static_cast<Block*>(p) - 1;
  b->prev->next = b->next;
  b->next->prev = b->prev;
  g_bytes -= b->size;
  --g_count;
  std::free(b);
}

void* counted_realloc(void* p, std::size_t size, const char* file, int line) {
  if (p == nullptr) return counted_malloc(size, file, line);
  if (size == 0) {
    counted_free(p, file, line);
    return nullptr;
  }
  void* fresh = counted_malloc(size, file, line);
  if (fresh == nullptr) return nullptr;
  std::memcpy(fresh, p, std::min(size, (static_cast<Block*>(p) - 1)->size));
  counted_free(p, file, line);
  return fresh;
}

struct Connection {
  int fds[2] = {-1, -1};
  SSL* server = nullptr;
  SSL* client = nullptr;
};

SSL* make_ssl(SSL_CTX* ctx, int fd) {
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) throw std::runtime_error("SSL_new");
  BIO* bio = BIO_new_socket(fd, BIO_NOCLOSE);
  SSL_set_bio(ssl, bio, bio);  // one BIO both ways, as in TlsSocket; the SSL owns it
  return ssl;
}

bool progressing(SSL* ssl, int result) {
  if (result > 0) return true;
  const int error = SSL_get_error(ssl, result);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return true;
  throw std::runtime_error("TLS error " + std::to_string(error));
}

// Writes `size` bytes on `from` and reads them all on `to`, which processes whatever came first.
void send_through(SSL* from, SSL* to, int size) {
  const std::string data(static_cast<std::size_t>(size), 'x');
  if (SSL_write(from, data.data(), size) != size) throw std::runtime_error("SSL_write");
  char buffer[512];
  for (int got = 0; got < size;) {
    const int n = SSL_read(to, buffer, sizeof buffer);
    if (progressing(to, n) && n > 0) got += n;
  }
}

Connection open_connection(SSL_CTX* server_ctx, SSL_CTX* client_ctx) {
  Connection c;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, c.fds) != 0) {
    throw std::runtime_error("socketpair (raise ulimit -n?)");
  }
  c.server = make_ssl(server_ctx, c.fds[0]);
  // TlsSocket's per-connection settings (core/tls/tls_socket.cpp).
  SSL_set_options(c.server, SSL_OP_NO_RENEGOTIATION);
  SSL_set_mode(c.server, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                             SSL_MODE_RELEASE_BUFFERS);
  SSL_set_read_ahead(c.server, 1);
  SSL_set_accept_state(c.server);
  c.client = make_ssl(client_ctx, c.fds[1]);
  static char kServerName[] = "localhost";  // SSL_set_tlsext_host_name, without the C cast
  SSL_ctrl(c.client, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, kServerName);
  SSL_set_connect_state(c.client);
  for (bool server_done = false, client_done = false; !server_done || !client_done;) {
    const int s = SSL_do_handshake(c.server);
    const int r = SSL_do_handshake(c.client);
    server_done = progressing(c.server, s) && s == 1;
    client_done = progressing(c.client, r) && r == 1;
  }
  send_through(c.server, c.client, 200);
  send_through(c.client, c.server, 200);
  return c;
}

void close_client(Connection& c) {
  SSL_free(c.client);
  close(c.fds[1]);
}

void close_server(Connection& c) {
  SSL_free(c.server);
  close(c.fds[0]);
}

}  // namespace

int main(int argc, char** argv) {
  if (CRYPTO_set_mem_functions(counted_malloc, counted_realloc, counted_free) != 1) {
    std::fprintf(stderr, "OpenSSL allocated before the counting hooks were installed\n");
    return 1;
  }
  int connections = 2000;
  if (argc == 3 && std::strcmp(argv[1], "--connections") == 0) connections = std::atoi(argv[2]);
  if (connections <= 0 || (argc != 1 && argc != 3)) {
    std::fprintf(stderr, "usage: tls_memory [--connections N]\n");
    return 2;
  }
  rlimit files{};  // one descriptor per idle connection: lift the soft limit to the hard one
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);

  parley::core::Config config;
  config.data_dir =
      std::filesystem::temp_directory_path() / ("parley-tls-memory-" + std::to_string(getpid()));
  std::filesystem::create_directories(config.data_dir);
  const auto& host = config.default_host();
  tls::ensure_self_signed(config.certificate_file(host), config.private_key_file(host),
                          host.domain);
  auto contexts = tls::ServerContexts::load(config, "xmpp-client");
  SSL_CTX* server_ctx = contexts->for_domain(host.domain);
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, nullptr);

  for (int i = 0; i < 16; ++i) {
    Connection c = open_connection(server_ctx, client_ctx);
    close_client(c);
    close_server(c);
  }

  const std::size_t bytes_before = g_bytes;
  const std::size_t count_before = g_count;
  g_measuring = true;
  std::vector<Connection> idle;
  idle.reserve(static_cast<std::size_t>(connections));
  for (int i = 0; i < connections; ++i) {
    idle.push_back(open_connection(server_ctx, client_ctx));
    close_client(idle.back());
  }
  g_measuring = false;
  const double bytes = static_cast<double>(g_bytes - bytes_before) / connections;
  const double count = static_cast<double>(g_count - count_before) / connections;
  std::size_t largest = 0;
  for (const Block* b = g_live.next; b != &g_live; b = b->next) {
    if (b->measured) largest = std::max(largest, b->size);
  }
  const char* protocol = SSL_get_version(idle.front().server);
  const char* cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(idle.front().server));

  std::printf("%d idle server connections, %s, %s\n", connections, protocol, cipher);
  std::printf("OpenSSL bytes per connection: %.0f\n", bytes);
  std::printf("OpenSSL allocations per connection: %.1f\n", count);
  std::printf("largest single allocation: %zu bytes\n", largest);
  std::printf(
      "{\"connections\":%d,\"openssl_bytes_per_connection\":%.0f,"
      "\"openssl_allocations_per_connection\":%.1f,\"largest_allocation_bytes\":%zu,"
      "\"protocol\":\"%s\",\"cipher\":\"%s\"}\n",
      connections, bytes, count, largest, protocol, cipher);

  for (Connection& c : idle) close_server(c);
  SSL_CTX_free(client_ctx);
  contexts.reset();
  std::filesystem::remove_all(config.data_dir);
  return 0;
}
