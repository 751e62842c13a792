#include "stn.h"

const char *stn_status_name(stn_status status) {
    switch (status) {
    case STN_OK: return "STN_OK";
    case STN_ERROR_ARGUMENT: return "STN_ERROR_ARGUMENT";
    case STN_ERROR_WEIGHTS: return "STN_ERROR_WEIGHTS";
    case STN_ERROR_MODEL: return "STN_ERROR_MODEL";
    case STN_ERROR_NON_FINITE: return "STN_ERROR_NON_FINITE";
    default: return "STN_UNKNOWN_STATUS";
    }
}
