# SPDX-License-Identifier: Apache-2.0
# Redaction dictionaries: policy/dict/*.txt are compiled at build time by a small C
# generator (no Python on CI) into one automaton, redact_tables.c, which becomes part
# of caregate_policy. Included by policy/CMakeLists.txt after caregate_policy exists.
file(GLOB REDACT_DICTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/dict/*.txt)
list(SORT REDACT_DICTS)
add_executable(redact_gen ${CMAKE_CURRENT_SOURCE_DIR}/tools/redact_gen.c)
target_link_libraries(redact_gen PRIVATE project_warnings)
set(REDACT_TABLES_C ${CMAKE_CURRENT_BINARY_DIR}/redact_tables.c)
add_custom_command(OUTPUT ${REDACT_TABLES_C}
  COMMAND redact_gen ${REDACT_TABLES_C} ${REDACT_DICTS}
  DEPENDS redact_gen ${REDACT_DICTS}
  COMMENT "Compiling redaction dictionaries")
target_sources(caregate_policy PRIVATE ${REDACT_TABLES_C})
target_include_directories(caregate_policy PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
