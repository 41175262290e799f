#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stringprep.h>

#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "core/sasl/authzid.hpp"
#include "core/sasl/base64.hpp"
#include "core/sasl/channel_binding.hpp"
#include "core/sasl/credentials.hpp"
#include "core/sasl/plain.hpp"
#include "core/sasl/sasl_error.hpp"
#include "core/sasl/saslprep.hpp"
#include "core/sasl/scram.hpp"
#include "core/sasl/scram_client.hpp"
#include "core/sasl/scram_hash.hpp"
#include "core/sasl/stringprep.hpp"

namespace parley::core::sasl {
namespace {

using namespace std::string_literals;

// ---------------------------------------------------------------------------------------------
// Base64

TEST(Base64Test, Rfc4648TestVectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), plain) << encoded;
  }
}

TEST(Base64Test, RoundTripsAllByteValues) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n < 8; ++n) {  // every padding length
    const std::string data = all.substr(n);
    EXPECT_EQ(base64_decode(base64_encode(data)), data);
  }
}

TEST(Base64Test, RejectsNonCanonicalInput) {
  for (std::string bad :
       {"Zg="s, "Zg"s, "Z"s, "Z==="s, "===="s, "Zh=="s, "Zm9="s, " Zg=="s, "Zg==\n"s, "Zm9v\nYmFy"s,
        "Zm9 "s, "Zg=a"s, "=Zg="s, "Zm8=Zm8="s, "Zm-_"s, "Zm9v YmFy"s, "Zm\0v"s}) {
    EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
  }
}

// ---------------------------------------------------------------------------------------------
// Stringprep and SASLprep

TEST(SaslprepTest, Rfc4013Examples) {
  // RFC 4013 §3.
  EXPECT_EQ(saslprep("I\xc2\xadX"), "IX");    // SOFT HYPHEN mapped to nothing
  EXPECT_EQ(saslprep("user"), "user");        // no transformation
  EXPECT_EQ(saslprep("USER"), "USER");        // case preserved
  EXPECT_EQ(saslprep("\xc2\xaa"), "a");       // U+00AA, NFKC
  EXPECT_EQ(saslprep("\xe2\x85\xa8"), "IX");  // U+2168, NFKC
  EXPECT_EQ(saslprep("\x07"), std::nullopt);  // prohibited character
  EXPECT_EQ(saslprep("\xd8\xa7"
                     "1"),
            std::nullopt);  // bidirectional check
}

TEST(SaslprepTest, MapsNonAsciiSpaceAndRefusesBadInput) {
  EXPECT_EQ(saslprep("a\xc2\xa0"
                     "b"),
            "a b");  // U+00A0 → SPACE (RFC 4013 §2.1)
  EXPECT_EQ(saslprep("a b"), "a b");
  EXPECT_EQ(saslprep("a\xff"), std::nullopt);
  EXPECT_EQ(saslprep("a\xed\xa0\x80"), std::nullopt);  // UTF-8 encoded surrogate
  EXPECT_EQ(saslprep("a\0b"s), std::nullopt);
  EXPECT_EQ(saslprep(""), "");
  // U+0221 is unassigned in Unicode 3.2: fine in a query, refused in a stored string.
  EXPECT_EQ(saslprep("\xc8\xa1"), "\xc8\xa1");
  EXPECT_EQ(saslprep("\xc8\xa1", Unassigned::Refuse), std::nullopt);
}

TEST(StringprepTest, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc0\x80"));          // overlong NUL
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));              // lone continuation byte
  EXPECT_FALSE(is_valid_utf8("\xf8\x88\x80\x80\x80"));
}

const Stringprep_profile* libidn(StringprepProfile p) {
  switch (p) {
    case StringprepProfile::Nodeprep:
      return stringprep_xmpp_nodeprep;
    case StringprepProfile::Resourceprep:
      return stringprep_xmpp_resourceprep;
    case StringprepProfile::Nameprep:
      return stringprep_nameprep;
    case StringprepProfile::Saslprep:
      return stringprep_saslprep;
  }
  return nullptr;
}

// The ASCII fast path must agree with libidn on every ASCII character, for every profile.
TEST(StringprepTest, AsciiFastPathMatchesLibidn) {
  for (auto profile : {StringprepProfile::Nodeprep, StringprepProfile::Resourceprep,
                       StringprepProfile::Nameprep, StringprepProfile::Saslprep}) {
    for (int c = 1; c < 128; ++c) {
      const std::string input = "xA"s + static_cast<char>(c) + "Zy";
      char buffer[64] = {};
      input.copy(buffer, input.size());
      const int rc =
          ::stringprep(buffer, sizeof buffer, Stringprep_profile_flags{}, libidn(profile));
      const auto ours = stringprep(input, profile);
      if (rc == STRINGPREP_OK) {
        EXPECT_EQ(ours, std::string(buffer))
            << "profile " << static_cast<int>(profile) << " c " << c;
      } else {
        EXPECT_EQ(ours, std::nullopt) << "profile " << static_cast<int>(profile) << " c " << c;
      }
    }
  }
}

TEST(StringprepTest, GrowsTheBufferForLongExpansions) {
  // U+FDFA expands to 18 characters (33 bytes) under NFKC.
  std::string in;
  for (int i = 0; i < 40; ++i) in += "\xef\xb7\xba";
  const auto out = stringprep(in, StringprepProfile::Resourceprep);
  ASSERT_TRUE(out);
  EXPECT_GT(out->size(), in.size() * 5);
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(SaslErrorTest, NamesAreThoseOfRfc6120) {
  const std::pair<SaslError, std::string_view> names[] = {
      {SaslError::Aborted, "aborted"},
      {SaslError::AccountDisabled, "account-disabled"},
      {SaslError::CredentialsExpired, "credentials-expired"},
      {SaslError::EncryptionRequired, "encryption-required"},
      {SaslError::IncorrectEncoding, "incorrect-encoding"},
      {SaslError::InvalidAuthzid, "invalid-authzid"},
      {SaslError::InvalidMechanism, "invalid-mechanism"},
      {SaslError::MalformedRequest, "malformed-request"},
      {SaslError::MechanismTooWeak, "mechanism-too-weak"},
      {SaslError::NotAuthorized, "not-authorized"},
      {SaslError::TemporaryAuthFailure, "temporary-auth-failure"},
  };
  for (const auto& [error, name] : names) {
    EXPECT_EQ(to_string(error), name);
    EXPECT_EQ(sasl_error_from_string(name), error);
  }
  EXPECT_EQ(sasl_error_from_string("bad-request"), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Credentials

std::string fixed_bytes(std::size_t n) { return std::string(n, '\x5a'); }

TEST(CredentialsTest, VerifyPasswordAcceptsOnlyThePassword) {
  const auto credential = derive(kSha256, "pencil", "salt-salt-salt-s", 4096);
  EXPECT_EQ(credential.hash_name, "SHA-256");
  EXPECT_EQ(credential.stored_key.size(), 32U);
  EXPECT_EQ(credential.server_key.size(), 32U);
  EXPECT_TRUE(verify_password(credential, "pencil"));
  EXPECT_FALSE(verify_password(credential, "Pencil"));
  EXPECT_FALSE(verify_password(credential, "pencil "));
  EXPECT_FALSE(verify_password(credential, ""));
  auto other_hash = credential;
  other_hash.hash_name = "MD5";
  EXPECT_FALSE(verify_password(other_hash, "pencil"));
  auto no_iterations = credential;
  no_iterations.iterations = 0;
  EXPECT_FALSE(verify_password(no_iterations, "pencil"));
}

TEST(CredentialsTest, DeriveIsDeterministicAndDependsOnEveryInput) {
  const auto a = derive(kSha1, "pencil", "salt", 4096);
  EXPECT_EQ(a, derive(kSha1, "pencil", "salt", 4096));
  EXPECT_NE(a.stored_key, derive(kSha1, "pencil", "salt2", 4096).stored_key);
  EXPECT_NE(a.stored_key, derive(kSha1, "pencil", "salt", 4097).stored_key);
  EXPECT_NE(a.stored_key, derive(kSha1, "pencil2", "salt", 4096).stored_key);
  EXPECT_EQ(a.stored_key.size(), 20U);
  EXPECT_THROW(derive("MD5", "pencil", "salt", 4096), std::invalid_argument);
  EXPECT_THROW(derive(kSha1, "pencil", "salt", 0), std::invalid_argument);
}

TEST(CredentialsTest, MakeCredentialsGivesSha1AndSha256WithFreshSalts) {
  const auto credentials = make_credentials("pencil");
  ASSERT_EQ(credentials.size(), 2U);
  EXPECT_EQ(credentials[0].hash_name, "SHA-1");
  EXPECT_EQ(credentials[1].hash_name, "SHA-256");
  for (const auto& c : credentials) {
    EXPECT_EQ(c.salt.size(), kSaltBytes);
    EXPECT_EQ(c.iterations, kDefaultIterations);
    EXPECT_TRUE(verify_password(c, "pencil"));
  }
  EXPECT_NE(credentials[0].salt, credentials[1].salt);
  EXPECT_NE(make_credentials("pencil")[1].salt, credentials[1].salt);
  const auto fixed = make_credentials("pencil", 4096, fixed_bytes);
  EXPECT_EQ(fixed[0].salt, fixed_bytes(16));
  EXPECT_THROW(make_credentials(""), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// SCRAM: the RFC examples, byte for byte

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";

ScramServerOptions server_options(std::string_view hash, std::string server_nonce = "S3rv3rN0nc3",
                                  bool plus = false, ChannelBindings bindings = {}) {
  ScramServerOptions o;
  o.hash_name = std::string(hash);
  o.plus = plus;
  o.bindings = std::move(bindings);
  o.nonce = [server_nonce] { return server_nonce; };
  o.unknown_user_secret = std::string(kSecret);
  o.domain = "example.com";
  return o;
}

ScramClientOptions client_options(std::string_view hash, std::string password = "pencil",
                                  std::string client_nonce = "Cl13ntN0nc3") {
  ScramClientOptions o;
  o.hash_name = std::string(hash);
  o.username = "user";
  o.password = std::move(password);
  o.nonce = [client_nonce] { return client_nonce; };
  return o;
}

ScramCredential rfc_credential(std::string_view hash, std::string_view salt_b64) {
  return derive(hash, "pencil", *base64_decode(salt_b64), 4096);
}

// Runs a whole exchange; the server's final message or the first error (Aborted when the
// client refuses the server-first-message).
SaslResult<std::string> run(ScramServer& server, ScramClient& client,
                            const std::optional<ScramCredential>& credential) {
  auto user = server.client_first(client.client_first());
  if (!user) return user.error();
  auto final_message = client.client_final(server.server_first(credential));
  if (!final_message) return SaslError::Aborted;
  return server.client_final(*final_message);
}

TEST(ScramTest, Rfc5802Sha1Example) {
  ScramServer server(server_options(kSha1, "3rfcNHYJY1ZVvWVs7j"));
  const auto user = server.client_first("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  ASSERT_TRUE(user);
  EXPECT_EQ(*user, "user");
  EXPECT_EQ(server.server_first(rfc_credential(kSha1, "QSXCR+Q6sek8bf92")),
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
  const auto final_message = server.client_final(
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  ASSERT_TRUE(final_message) << to_string(final_message.error());
  EXPECT_EQ(*final_message, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
  EXPECT_TRUE(server.succeeded());
}

TEST(ScramTest, Rfc7677Sha256Example) {
  ScramServer server(server_options(kSha256, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"));
  const auto user = server.client_first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  ASSERT_TRUE(user);
  EXPECT_EQ(server.server_first(rfc_credential(kSha256, "W22ZaJ0SNY7soEsUEjb6gQ==")),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
            "i=4096");
  const auto final_message = server.client_final(
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  ASSERT_TRUE(final_message) << to_string(final_message.error());
  EXPECT_EQ(*final_message, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

TEST(ScramClientTest, Rfc5802Sha1ExampleFromTheClientSide) {
  ScramClient client(client_options(kSha1, "pencil", "fyko+d2lbbFgONRv9qkxdawL"));
  EXPECT_EQ(client.mechanism(), "SCRAM-SHA-1");
  EXPECT_EQ(client.client_first(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  EXPECT_EQ(
      client.client_final("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"),
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  EXPECT_TRUE(client.verify_server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="));
  EXPECT_FALSE(client.verify_server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKA="));
  EXPECT_FALSE(client.verify_server_final("e=other-error"));
}

TEST(ScramClientTest, Rfc7677Sha256ExampleFromTheClientSide) {
  ScramClient client(client_options(kSha256, "pencil", "rOprNGfwEbeRWgbNEkqO"));
  EXPECT_EQ(client.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  EXPECT_EQ(client.client_final("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                                "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  EXPECT_TRUE(client.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
}

TEST(ScramClientTest, RefusesABadServerFirstMessage) {
  for (std::string bad : {"r=Cl13ntN0nc3,s=QSXCR+Q6sek8bf92,i=4096"s,      // nonce not extended
                          "r=Other,s=QSXCR+Q6sek8bf92,i=4096"s,            // not our nonce
                          "r=Cl13ntN0nc3X,s=QSXCR+Q6sek8bf9,i=4096"s,      // bad base64
                          "r=Cl13ntN0nc3X,s=QSXCR+Q6sek8bf92,i=0"s,        // zero iterations
                          "r=Cl13ntN0nc3X,s=QSXCR+Q6sek8bf92,i=9999999"s,  // too much work
                          "r=Cl13ntN0nc3X,s=QSXCR+Q6sek8bf92,i=4096x"s,
                          "r=Cl13ntN0nc3X,s=QSXCR+Q6sek8bf92"s, "e=other-error"s}) {
    ScramClient client(client_options(kSha1));
    (void)client.client_first();
    EXPECT_EQ(client.client_final(bad), std::nullopt) << bad;
  }
}

TEST(ScramClientTest, RefusesPasswordsSaslprepRefuses) {
  EXPECT_THROW(ScramClient(client_options(kSha1, "bell\x07")), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// SCRAM: failures

TEST(ScramTest, RoundTripWithTheClientHelper) {
  for (auto hash : {kSha1, kSha256, kSha512}) {
    ScramServer server(server_options(hash));
    ScramClient client(client_options(hash));
    const auto final_message = run(server, client, derive(hash, "pencil", "NaCl", 4096));
    ASSERT_TRUE(final_message) << hash << ": " << to_string(final_message.error());
    EXPECT_TRUE(client.verify_server_final(*final_message));
  }
}

TEST(ScramTest, WrongPasswordIsNotAuthorized) {
  ScramServer server(server_options(kSha256));
  ScramClient client(client_options(kSha256, "pencil2"));
  const auto result = run(server, client, derive(kSha256, "pencil", "NaCl", 4096));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), SaslError::NotAuthorized);
  EXPECT_FALSE(server.succeeded());
}

TEST(ScramTest, PasswordIsSaslpreppedOnBothSides) {
  ScramServer server(server_options(kSha256));
  ScramClient client(client_options(kSha256, "I\xc2\xadX"));  // SOFT HYPHEN inside
  EXPECT_TRUE(run(server, client, derive(kSha256, *saslprep("IX"), "NaCl", 4096)));
}

// The server's half of an exchange up to client-final, with a correct client-final to tamper
// with. The credential: "pencil", salt "NaCl", 64 iterations.
struct Prepared {
  ScramServer server;
  std::string server_first;
  std::string client_final;
};

Prepared prepare(std::string_view hash = kSha256) {
  Prepared p{ScramServer(server_options(hash)), {}, {}};
  ScramClient client(client_options(hash));
  EXPECT_TRUE(p.server.client_first(client.client_first()));
  p.server_first = p.server.server_first(derive(hash, "pencil", "NaCl", 64));
  p.client_final = *client.client_final(p.server_first);
  return p;
}

// What a client that knows the password sends as client-final-message with `without_proof`:
// the proof is valid for whatever that part says, so only the server's other checks can fail it.
std::string signed_client_final(const Prepared& p, const std::string& without_proof) {
  const auto hash = *ScramHash::from_name(kSha256);
  const std::string client_key = hash.hmac(hash.hi("pencil", "NaCl", 64), "Client Key");
  const std::string auth_message = "n=user,r=Cl13ntN0nc3," + p.server_first + "," + without_proof;
  const std::string signature = hash.hmac(hash.hash(client_key), auth_message);
  return without_proof + ",p=" + base64_encode(xor_bytes(client_key, signature));
}

TEST(ScramTest, ChangedNonceIsNotAuthorizedEvenWithAValidProof) {
  {
    auto p = prepare();  // control: the construction works with the right nonce
    EXPECT_TRUE(p.server.client_final(signed_client_final(p, "c=biws,r=Cl13ntN0nc3S3rv3rN0nc3")));
  }
  for (std::string nonce : {"Cl13ntN0nc3S3rv3rN0nc"s, "Cl13ntN0nc3S3rv3rN0nc3X"s, "Cl13ntN0nc3"s,
                            "XCl13ntN0nc3S3rv3rN0nc3"s, "Cl13ntN0nc3S3rv3rN0nc4"s}) {
    auto p = prepare();
    const auto result = p.server.client_final(signed_client_final(p, "c=biws,r=" + nonce));
    ASSERT_FALSE(result) << nonce;
    EXPECT_EQ(result.error(), SaslError::NotAuthorized) << nonce;
  }
}

TEST(ScramTest, ExtensionsInClientFinalAreIgnored) {
  auto p = prepare();
  EXPECT_TRUE(
      p.server.client_final(signed_client_final(p, "c=biws,r=Cl13ntN0nc3S3rv3rN0nc3,x=y=z")));
}

TEST(ScramTest, TamperedNonceIsNotAuthorized) {
  auto p = prepare();
  // Drop the last character of the server nonce, and separately append one.
  const auto proof = p.client_final.find(",p=");
  std::string shorter = p.client_final;
  shorter.erase(proof - 1, 1);
  auto result = p.server.client_final(shorter);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), SaslError::NotAuthorized);

  auto q = prepare();
  std::string longer = q.client_final;
  longer.insert(proof, "X");
  result = q.server.client_final(longer);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), SaslError::NotAuthorized);
}

TEST(ScramTest, TamperedProofIsNotAuthorized) {
  auto p = prepare();
  std::string tampered = p.client_final;
  const auto proof = tampered.find(",p=") + 3;
  tampered[proof] = tampered[proof] == 'A' ? 'B' : 'A';
  const auto result = p.server.client_final(tampered);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), SaslError::NotAuthorized);
}

TEST(ScramTest, BadBase64InClientFinalIsMalformed) {
  const std::string cases[] = {
      "c=biws,r=Cl13ntN0nc3S3rv3rN0nc3,p=not*base64",
      "c=bi ws,r=Cl13ntN0nc3S3rv3rN0nc3,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
      "c=biws,r=Cl13ntN0nc3S3rv3rN0nc3,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",
      "c=biws,r=Cl13ntN0nc3S3rv3rN0nc3,p=dHzb",  // proof of the wrong length
      "c=biws,r=Cl13ntN0nc3S3rv3rN0nc3",         // no proof
      "r=Cl13ntN0nc3S3rv3rN0nc3,c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
      "c=biws,r=Cl13ntN0nc3S3rv3rN0nc3,1=x,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
      "",
  };
  for (const auto& message : cases) {
    auto p = prepare();
    const auto result = p.server.client_final(message);
    ASSERT_FALSE(result) << message;
    EXPECT_EQ(result.error(), SaslError::MalformedRequest) << message;
  }
}

TEST(ScramTest, MalformedClientFirstMessages) {
  const std::string cases[] = {
      "",
      "n",
      "n,",
      "n,,",
      "x,,n=user,r=abc",
      "n,,r=abc,n=user",               // wrong order
      "n,,n=user",                     // no nonce
      "n,,n=,r=abc",                   // empty user name
      "n,,n=us=2Dr,r=abc",             // '=' must be =2C or =3D (RFC 5802 §5.1)
      "n,,n=us=2,r=abc",               // truncated escape
      "n,,n=user,r=",                  // empty nonce
      "n,,n=user,r=ab\x7f",            // nonce not printable
      "n,,m=ext,n=user,r=abc",         // mandatory extension (RFC 5802 §5.1)
      "n,b=x,n=user,r=abc",            // the authzid field is "a="
      "n,a=,n=user,r=abc",             // empty authzid saslname
      "n,,n=user,r=abc,1=x",           // an extension's name is ALPHA
      "n,,n=us\xff,r=abc",             // not UTF-8
      "n,,n=bell\x07,r=abc",           // SASLprep refuses the user name
      "n,,n=\xc2\xad,r=abc",           // SASLprep maps it to nothing
      "p=tls-exporter,,n=user,r=abc",  // channel binding with a non-PLUS mechanism
      "p=tls_exporter,,n=user,r=abc",  // not a cb-name
  };
  for (const auto& message : cases) {
    ScramServer server(server_options(kSha256));
    const auto result = server.client_first(message);
    ASSERT_FALSE(result) << message;
    EXPECT_EQ(result.error(), SaslError::MalformedRequest) << message;
  }
}

TEST(ScramTest, UserNameIsUnescapedAndSaslprepped) {
  ScramServer a(server_options(kSha256));
  EXPECT_EQ(*a.client_first("n,,n=a=2Cb=3Dc,r=abc"), "a,b=c");
  ScramServer b(server_options(kSha256));
  EXPECT_EQ(*b.client_first("n,,n=I\xc2\xadX,r=abc"), "IX");
  ScramServer c(server_options(kSha256));
  EXPECT_EQ(*c.client_first("n,,n=user,r=abc,x=unknown extension"), "user");  // ignored
}

TEST(ScramTest, ClientHelperEscapesUserNames) {
  auto options = client_options(kSha256);
  options.username = "a,b=c";
  ScramClient client(options);
  EXPECT_EQ(client.client_first(), "n,,n=a=2Cb=3Dc,r=Cl13ntN0nc3");
}

TEST(ScramTest, AuthzidMustBeTheUsersOwnBareJid) {
  {
    ScramServer server(server_options(kSha256));
    auto options = client_options(kSha256);
    options.authzid = "USER@example.com";
    ScramClient client(options);
    const auto result = run(server, client, derive(kSha256, "pencil", "NaCl", 64));
    ASSERT_TRUE(result) << to_string(result.error());
    EXPECT_EQ(server.authzid(), "USER@example.com");
  }
  for (std::string authzid :
       {"other@example.com"s, "user@example.com/res"s, "user@example.org"s, "example.com"s}) {
    ScramServer server(server_options(kSha256));
    const auto result = server.client_first("n,a=" + authzid + ",n=user,r=abc");
    ASSERT_FALSE(result) << authzid;
    EXPECT_EQ(result.error(), SaslError::InvalidAuthzid) << authzid;
  }
}

TEST(ScramTest, ChangedGs2HeaderIsNotAuthorized) {
  // The client said "n,," in client-first but "y,," in c=: the header was tampered with.
  ScramServer server(server_options(kSha256));
  auto options = client_options(kSha256);
  ASSERT_TRUE(server.client_first("n,,n=user,r=Cl13ntN0nc3"));
  options.supports_channel_binding = true;  // this client will put "y,," into c=
  ScramClient client(options);
  (void)client.client_first();
  const auto final_message =
      client.client_final(server.server_first(derive(kSha256, "pencil", "NaCl", 64)));
  ASSERT_TRUE(final_message);
  const auto result = server.client_final(*final_message);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), SaslError::NotAuthorized);
}

// ---------------------------------------------------------------------------------------------
// SCRAM: channel binding

const std::string kExporter(32, '\x11');
const std::string kEndPoint(32, '\x22');

TEST(ScramChannelBindingTest, YFlagWhilePlusWasOfferedIsADowngrade) {
  ScramServer server(
      server_options(kSha256, "S", false, ChannelBindings{kExporter, {}, {}, false}));
  const auto result = server.client_first("y,,n=user,r=abc");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), SaslError::NotAuthorized);
}

TEST(ScramChannelBindingTest, YFlagWithoutPlusOfferedSucceeds) {
  ScramServer server(server_options(kSha256));
  auto options = client_options(kSha256);
  options.supports_channel_binding = true;
  ScramClient client(options);
  const auto result = run(server, client, derive(kSha256, "pencil", "NaCl", 64));
  EXPECT_TRUE(result);
}

TEST(ScramChannelBindingTest, NFlagWhilePlusWasOfferedSucceeds) {
  // A client without channel-binding support may use the plain mechanism.
  ScramServer server(
      server_options(kSha256, "S", false, ChannelBindings{kExporter, kEndPoint, {}, false}));
  ScramClient client(client_options(kSha256));
  EXPECT_TRUE(run(server, client, derive(kSha256, "pencil", "NaCl", 64)));
}

TEST(ScramChannelBindingTest, TlsExporterMatching) {
  ScramServer server(
      server_options(kSha256, "S", true, ChannelBindings{kExporter, kEndPoint, {}, false}));
  auto options = client_options(kSha256);
  options.cb_name = "tls-exporter";
  options.cb_data = kExporter;
  ScramClient client(options);
  EXPECT_EQ(client.mechanism(), "SCRAM-SHA-256-PLUS");
  const auto result = run(server, client, derive(kSha256, "pencil", "NaCl", 64));
  ASSERT_TRUE(result) << to_string(result.error());
  EXPECT_TRUE(client.verify_server_final(*result));
  EXPECT_EQ(server.cb_name(), "tls-exporter");
}

TEST(ScramChannelBindingTest, TlsExporterMismatchIsNotAuthorized) {
  ScramServer server(
      server_options(kSha256, "S", true, ChannelBindings{kExporter, kEndPoint, {}, false}));
  auto options = client_options(kSha256);
  options.cb_name = "tls-exporter";
  options.cb_data = std::string(32, '\x12');  // another TLS channel: a man in the middle
  ScramClient client(options);
  const auto result = run(server, client, derive(kSha256, "pencil", "NaCl", 64));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), SaslError::NotAuthorized);
}

TEST(ScramChannelBindingTest, TlsServerEndPointMatching) {
  ScramServer server(server_options(kSha1, "S", true, ChannelBindings{{}, kEndPoint, {}, false}));
  auto options = client_options(kSha1);
  options.cb_name = "tls-server-end-point";
  options.cb_data = kEndPoint;
  ScramClient client(options);
  EXPECT_TRUE(run(server, client, derive(kSha1, "pencil", "NaCl", 64)));
}

TEST(ScramChannelBindingTest, UnavailableOrUnknownBindingIsRefused) {
  const std::string cases[] = {
      "p=tls-exporter,,n=user,r=abc",  // not available on this connection
      "p=tls-unique,,n=user,r=abc",    // not supported at all
      "n,,n=user,r=abc",               // -PLUS needs a binding
      "y,,n=user,r=abc",
  };
  for (const auto& message : cases) {
    ScramServer server(
        server_options(kSha256, "S", true, ChannelBindings{{}, kEndPoint, {}, false}));
    const auto result = server.client_first(message);
    ASSERT_FALSE(result) << message;
    EXPECT_EQ(result.error(), SaslError::MalformedRequest) << message;
  }
}

TEST(ScramChannelBindingTest, PlusWithoutBindingsIsAProgrammingError) {
  EXPECT_THROW(ScramServer(server_options(kSha256, "S", true)), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// SCRAM: unknown users

std::string server_first_for(std::string_view user, const std::optional<ScramCredential>& cred,
                             std::string secret = std::string(kSecret)) {
  auto options = server_options(kSha256);
  options.unknown_user_secret = std::move(secret);
  ScramServer server(options);
  EXPECT_TRUE(server.client_first("n,,n=" + std::string(user) + ",r=abc"));
  return server.server_first(cred);
}

TEST(ScramUnknownUserTest, ServerFirstLooksLikeARealOne) {
  const std::string unknown = server_first_for("nobody", std::nullopt);
  // Same salt each time (a real user's salt does not change either) ...
  EXPECT_EQ(unknown, server_first_for("nobody", std::nullopt));
  // ... another for another name or another server secret ...
  EXPECT_NE(unknown, server_first_for("somebody", std::nullopt));
  EXPECT_NE(unknown, server_first_for("nobody", std::nullopt, std::string(32, 'x')));
  // ... and the same shape as the server-first of a real account.
  const std::string known = server_first_for("user", make_credentials("pencil")[1]);
  EXPECT_EQ(unknown.size(), known.size());
  EXPECT_EQ(unknown.substr(unknown.find(",i=")), known.substr(known.find(",i=")));
  EXPECT_EQ(unknown.find(",s="), known.find(",s="));
}

TEST(ScramUnknownUserTest, FinalStepFailsNotAuthorized) {
  ScramServer server(server_options(kSha256));
  ScramClient client(client_options(kSha256));
  const auto result = run(server, client, std::nullopt);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), SaslError::NotAuthorized);
}

TEST(ScramTest, CallsOutOfOrderThrow) {
  ScramServer server(server_options(kSha256));
  EXPECT_THROW((void)server.server_first(std::nullopt), std::logic_error);
  EXPECT_THROW((void)server.client_final("c=biws"), std::logic_error);
  ASSERT_TRUE(server.client_first("n,,n=user,r=abc"));
  EXPECT_THROW((void)server.client_first("n,,n=user,r=abc"), std::logic_error);
  EXPECT_THROW((void)server.server_first(derive(kSha1, "pencil", "NaCl", 64)),
               std::invalid_argument);  // a SHA-1 credential for SCRAM-SHA-256
}

TEST(ScramTest, MechanismNames) {
  const auto plus = parse_scram_mechanism("SCRAM-SHA-256-PLUS");
  ASSERT_TRUE(plus);
  EXPECT_EQ(plus->hash_name, kSha256);
  EXPECT_TRUE(plus->plus);
  const auto sha1 = parse_scram_mechanism("SCRAM-SHA-1");
  ASSERT_TRUE(sha1);
  EXPECT_EQ(sha1->hash_name, kSha1);
  EXPECT_FALSE(sha1->plus);
  EXPECT_FALSE(parse_scram_mechanism("SCRAM-MD5"));
  EXPECT_FALSE(parse_scram_mechanism("PLAIN"));
  EXPECT_FALSE(parse_scram_mechanism("SCRAM-SHA-256-PLUS-PLUS"));
  EXPECT_EQ(scram_mechanism_name(kSha1, true), "SCRAM-SHA-1-PLUS");
  EXPECT_EQ(scram_mechanism_name(kSha256, false), "SCRAM-SHA-256");
}

// ---------------------------------------------------------------------------------------------
// PLAIN

TEST(PlainTest, ParsesTheThreeFields) {
  auto m = parse_plain("\0user\0pencil"s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->authzid, "");
  EXPECT_EQ(m->authcid, "user");
  EXPECT_EQ(m->password, "pencil");
  m = parse_plain("user@example.com\0user\0pen cil"s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->authzid, "user@example.com");
  EXPECT_EQ(m->password, "pen cil");
}

TEST(PlainTest, SaslprepsAuthcidAndPassword) {
  const auto m = parse_plain("\0I\xc2\xadX\0\xe2\x85\xa8"s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->authcid, "IX");
  EXPECT_EQ(m->password, "IX");
  for (std::string refused : {"\0bell\x07\0pw"s, "\0user\0bell\x07"s, "\0user\0\xc2\xad"s,
                              "\0\xd8\xa7"
                              "1\0pw"s}) {
    const auto r = parse_plain(refused);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), SaslError::NotAuthorized);
  }
}

TEST(PlainTest, MalformedMessages) {
  const std::string f255(255, 'f');
  const std::string f256(256, 'f');
  EXPECT_TRUE(parse_plain(f255 + '\0' + f255 + '\0' + f255));
  for (std::string bad : {""s, "user"s, "\0user"s, "\0user\0"s, "\0\0pencil"s, "\0user\0pen\0cil"s,
                          "\0us\xffr\0pencil"s, "\xff\0user\0pencil"s, "\0user\0pen\xc3"s,
                          f256 + '\0' + "u\0p", "\0" + f256 + "\0p", "\0u\0" + f256}) {
    const auto r = parse_plain(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), SaslError::MalformedRequest);
  }
}

TEST(AuthzidTest, OnlyNoneOrOwnBareJid) {
  EXPECT_TRUE(authzid_allowed("", "user", "example.com"));
  EXPECT_TRUE(authzid_allowed("user@example.com", "user", "example.com"));
  EXPECT_TRUE(authzid_allowed("User@Example.COM", "USER", "example.com"));
  EXPECT_FALSE(authzid_allowed("user@example.com/r", "user", "example.com"));
  EXPECT_FALSE(authzid_allowed("admin@example.com", "user", "example.com"));
  EXPECT_FALSE(authzid_allowed("example.com", "user", "example.com"));
  EXPECT_FALSE(authzid_allowed("not a jid@", "user", "example.com"));
  EXPECT_FALSE(authzid_allowed("a b@example.com", "a b", "example.com"));
}

// ---------------------------------------------------------------------------------------------
// Channel-binding data from a real TLS connection (memory BIOs, no sockets)

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using CtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Deleter<SSL_free>>;

struct Identity {
  PkeyPtr key;
  X509Ptr cert;
};

// A self-signed certificate for example.com; `md` nullptr for Ed25519 (which has no digest).
Identity make_identity(const EVP_MD* md) {
  Identity id;
  id.key.reset(md == nullptr ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                             : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!id.key) throw std::runtime_error("keygen");
  id.cert.reset(X509_new());
  X509* x = id.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, id.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  static constexpr unsigned char kCn[] = "example.com";
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, kCn, -1, -1, 0);
  X509_set_issuer_name(x, name);
  if (X509_sign(x, id.key.get(), md) <= 0) throw std::runtime_error("X509_sign");
  return id;
}

CtxPtr server_ctx(const Identity& id) {
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (SSL_CTX_use_certificate(ctx.get(), id.cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), id.key.get()) != 1) {
    throw std::runtime_error("SSL_CTX_use_certificate");
  }
  return ctx;
}

std::string digest_of(X509* cert, const EVP_MD* md) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, md, out, &n);
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string server_end_point_of(const Identity& id) {
  auto ctx = server_ctx(id);
  SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_accept_state(ssl.get());
  return tls_server_end_point(ssl.get());
}

TEST(ChannelBindingTest, ServerEndPointUsesTheSignatureHash) {
  const auto sha384 = make_identity(EVP_sha384());
  EXPECT_EQ(server_end_point_of(sha384), digest_of(sha384.cert.get(), EVP_sha384()));
  // RFC 5929 §4.1: MD5 and SHA-1 are replaced by SHA-256.
  const auto sha1 = make_identity(EVP_sha1());
  EXPECT_EQ(server_end_point_of(sha1), digest_of(sha1.cert.get(), EVP_sha256()));
  // No single hash: undefined, so not offered.
  EXPECT_EQ(server_end_point_of(make_identity(nullptr)), "");
  EXPECT_EQ(tls_server_end_point(nullptr), "");
}

void handshake(SSL* client, SSL* server) {
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  ASSERT_EQ(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0), 1);
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  bool client_done = false;
  bool server_done = false;
  for (int i = 0; i < 100 && !(client_done && server_done); ++i) {
    if (!client_done) client_done = SSL_do_handshake(client) == 1;
    if (!server_done) server_done = SSL_do_handshake(server) == 1;
  }
  ASSERT_TRUE(client_done && server_done);
}

void expect_both_sides_agree(int tls_version) {
  const auto id = make_identity(EVP_sha256());
  auto sctx = server_ctx(id);
  CtxPtr cctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_min_proto_version(cctx.get(), tls_version);
  SSL_CTX_set_max_proto_version(cctx.get(), tls_version);
  SslPtr server(SSL_new(sctx.get()));
  SslPtr client(SSL_new(cctx.get()));
  EXPECT_EQ(tls_exporter(server.get()), "");  // not before the handshake
  handshake(client.get(), server.get());
  ASSERT_EQ(SSL_version(server.get()), tls_version);

  const auto server_side = channel_bindings(server.get());
  const auto client_side = channel_bindings(client.get());
  EXPECT_EQ(server_side.tls_exporter.size(), 32U);
  EXPECT_EQ(server_side.tls_exporter, client_side.tls_exporter);
  EXPECT_EQ(server_side.tls_server_end_point, digest_of(id.cert.get(), EVP_sha256()));
  EXPECT_EQ(server_side.tls_server_end_point, client_side.tls_server_end_point);
  // tls-unique: both ends see the same first Finished message; advertised below TLS 1.3 only.
  EXPECT_FALSE(server_side.tls_unique.empty());
  EXPECT_EQ(server_side.tls_unique, client_side.tls_unique);
  if (tls_version < TLS1_3_VERSION) {
    EXPECT_EQ(server_side.types(),
              (std::vector<std::string_view>{kTlsExporter, kTlsServerEndPoint, kTlsUnique}));
  } else {
    EXPECT_EQ(server_side.types(),
              (std::vector<std::string_view>{kTlsExporter, kTlsServerEndPoint}));
  }

  // Another connection has another exporter value: that is what binds SCRAM to the channel.
  SslPtr server2(SSL_new(sctx.get()));
  SslPtr client2(SSL_new(cctx.get()));
  handshake(client2.get(), server2.get());
  EXPECT_NE(tls_exporter(server2.get()), server_side.tls_exporter);
}

TEST(ChannelBindingTest, Tls13BothSidesAgree) { expect_both_sides_agree(TLS1_3_VERSION); }
TEST(ChannelBindingTest, Tls12WithExtendedMasterSecretBothSidesAgree) {
  expect_both_sides_agree(TLS1_2_VERSION);
}

TEST(ChannelBindingTest, Tls12WithoutExtendedMasterSecretHasNoExporter) {
  const auto id = make_identity(EVP_sha256());
  auto sctx = server_ctx(id);
  CtxPtr cctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_max_proto_version(cctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(cctx.get(), SSL_OP_NO_EXTENDED_MASTER_SECRET);
  SslPtr server(SSL_new(sctx.get()));
  SslPtr client(SSL_new(cctx.get()));
  handshake(client.get(), server.get());
  EXPECT_EQ(tls_exporter(server.get()), "");
  EXPECT_FALSE(channel_bindings(server.get()).tls_server_end_point.empty());
}

TEST(ChannelBindingTest, FindAndTypes) {
  ChannelBindings none;
  EXPECT_FALSE(none.any());
  EXPECT_EQ(none.find("tls-exporter"), nullptr);
  EXPECT_TRUE(none.types().empty());
  ChannelBindings only_end_point{{}, "x", {}, false};
  EXPECT_TRUE(only_end_point.any());
  EXPECT_EQ(only_end_point.find("tls-exporter"), nullptr);
  ASSERT_NE(only_end_point.find("tls-server-end-point"), nullptr);
  EXPECT_EQ(*only_end_point.find("tls-server-end-point"), "x");
  EXPECT_EQ(only_end_point.find("tls-unique"), nullptr);
}

}  // namespace
}  // namespace parley::core::sasl
