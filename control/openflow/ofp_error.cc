// control/openflow/ofp_error.cc: the numbers each version sends for an
// error (OpenFlow 1.0 lacks the match and instruction error types; OVS
// sends those as Nicira vendor errors, and ovs-ofctl reads them by name).
#include <array>

#include "control/openflow/ofp_wire.h"

namespace sockswitch::control::openflow {
namespace {

struct ErrorNumbers {
  OfpCode code;
  std::string_view name;
  WireError of10;
  WireError of13;
};

// clang-format off
constexpr std::array kErrors = std::to_array<ErrorNumbers>({
    {OfpCode::hello_incompatible,        "OFPHFC_INCOMPATIBLE",        {0, 0},          {0, 0}},
    {OfpCode::bad_version,               "OFPBRC_BAD_VERSION",         {1, 0},          {1, 0}},
    {OfpCode::bad_type,                  "OFPBRC_BAD_TYPE",            {1, 1},          {1, 1}},
    {OfpCode::bad_stat,                  "OFPBRC_BAD_STAT",            {1, 2},          {1, 2}},
    {OfpCode::bad_vendor,                "OFPBRC_BAD_VENDOR",          {1, 3},          {1, 3}},
    {OfpCode::bad_subtype,               "OFPBRC_BAD_SUBTYPE",         {1, 4},          {1, 4}},
    {OfpCode::eperm,                     "OFPBRC_EPERM",               {1, 5},          {1, 5}},
    {OfpCode::bad_len,                   "OFPBRC_BAD_LEN",             {1, 6},          {1, 6}},
    {OfpCode::buffer_unknown,            "OFPBRC_BUFFER_UNKNOWN",      {1, 8},          {1, 8}},
    {OfpCode::bad_table_id,              "OFPBRC_BAD_TABLE_ID",        {1, 512, true},  {1, 9}},
    {OfpCode::is_slave,                  "OFPBRC_IS_SLAVE",            {1, 5},          {1, 10}},
    {OfpCode::bad_port,                  "OFPBRC_BAD_PORT",            {1, 514, true},  {1, 11}},
    {OfpCode::bad_packet,                "OFPBRC_BAD_PACKET",          {1, 6},          {1, 12}},
    {OfpCode::action_bad_type,           "OFPBAC_BAD_TYPE",            {2, 0},          {2, 0}},
    {OfpCode::action_bad_len,            "OFPBAC_BAD_LEN",             {2, 1},          {2, 1}},
    {OfpCode::action_bad_vendor_type,    "OFPBAC_BAD_VENDOR_TYPE",     {2, 3},          {2, 3}},
    {OfpCode::action_bad_out_port,       "OFPBAC_BAD_OUT_PORT",        {2, 4},          {2, 4}},
    {OfpCode::action_bad_argument,       "OFPBAC_BAD_ARGUMENT",        {2, 5},          {2, 5}},
    {OfpCode::action_match_inconsistent, "OFPBAC_MATCH_INCONSISTENT",  {1, 522, true},  {2, 10}},
    {OfpCode::action_bad_set_type,       "OFPBAC_BAD_SET_TYPE",        {1, 523, true},  {2, 13}},
    {OfpCode::instruction_unknown,       "OFPBIC_UNKNOWN_INST",        {2, 257, true},  {3, 0}},
    {OfpCode::instruction_bad_table_id,  "OFPBIC_BAD_TABLE_ID",        {1, 512, true},  {3, 2}},
    {OfpCode::match_bad_type,            "OFPBMC_BAD_TYPE",            {1, 256, true},  {4, 0}},
    {OfpCode::match_bad_len,             "OFPBMC_BAD_LEN",             {1, 256, true},  {4, 1}},
    {OfpCode::match_bad_field,           "OFPBMC_BAD_FIELD",           {1, 257, true},  {4, 6}},
    {OfpCode::match_bad_value,           "OFPBMC_BAD_VALUE",           {1, 258, true},  {4, 7}},
    {OfpCode::match_bad_mask,            "OFPBMC_BAD_MASK",            {1, 259, true},  {4, 8}},
    {OfpCode::match_bad_prereq,          "OFPBMC_BAD_PREREQ",          {1, 260, true},  {4, 9}},
    {OfpCode::match_dup_field,           "OFPBMC_DUP_FIELD",           {1, 261, true},  {4, 10}},
    {OfpCode::flow_mod_overlap,          "OFPFMFC_OVERLAP",            {3, 1},          {5, 3}},
    {OfpCode::flow_mod_bad_command,      "OFPFMFC_BAD_COMMAND",        {3, 4},          {5, 6}},
    {OfpCode::flow_mod_bad_flags,        "OFPFMFC_BAD_FLAGS",          {3, 258, true},  {5, 7}},
    {OfpCode::flow_mod_bad_timeout,      "OFPFMFC_BAD_TIMEOUT",        {3, 3},          {5, 5}},
    {OfpCode::flow_mod_unsupported,      "OFPFMFC_UNSUPPORTED",        {3, 5},          {5, 0}},
    {OfpCode::config_bad_flags,          "OFPSCFC_BAD_FLAGS",          {1, 515, true},  {10, 0}},
    {OfpCode::role_bad_role,             "OFPRRFC_BAD_ROLE",           {1, 513, true},  {11, 2}},
    {OfpCode::role_stale,                "OFPRRFC_STALE",              {1, 513, true},  {11, 0}},
    // Meters exist from 1.3 on; a 1.0 session never sends what causes these.
    {OfpCode::meter_exists,              "OFPMMFC_METER_EXISTS",       {1, 1},          {12, 1}},
    {OfpCode::meter_invalid,             "OFPMMFC_INVALID_METER",      {1, 1},          {12, 2}},
    {OfpCode::meter_unknown,             "OFPMMFC_UNKNOWN_METER",      {1, 1},          {12, 3}},
    {OfpCode::meter_bad_command,         "OFPMMFC_BAD_COMMAND",        {1, 1},          {12, 4}},
    {OfpCode::meter_bad_flags,           "OFPMMFC_BAD_FLAGS",          {1, 1},          {12, 5}},
    {OfpCode::meter_bad_rate,            "OFPMMFC_BAD_RATE",           {1, 1},          {12, 6}},
    {OfpCode::meter_bad_band,            "OFPMMFC_BAD_BAND",           {1, 1},          {12, 8}},
});
// clang-format on

const ErrorNumbers& numbers(OfpCode code) noexcept {
  for (const ErrorNumbers& e : kErrors)
    if (e.code == code) return e;
  return kErrors[2];  // unreachable: every code is listed
}

}  // namespace

WireError wire_error(std::uint8_t version, OfpCode code) noexcept {
  return version == kVersion10 ? numbers(code).of10 : numbers(code).of13;
}

std::string_view error_name(OfpCode code) noexcept {
  return numbers(code).name;
}

}  // namespace sockswitch::control::openflow
