// libhdf5 (Debian: libhdf5-dev, headers under /usr/include/hdf5/serial, found via pkg-config).
#include <hdf5.h>

// H5T_NATIVE_* and H5P_* are macros that expand to global ids initialised by H5open();
// Swift cannot import them, so expose them as functions.
static inline hid_t stn_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t stn_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t stn_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t stn_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t stn_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t stn_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t stn_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t stn_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t stn_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline unsigned stn_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned stn_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned stn_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
// Silences the library's default error-stack printing: errors are reported by our
// own one-line messages instead.
static inline void stn_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
// Objects (files, datasets, groups, types, attributes) libhdf5 holds open in the process.
static inline ssize_t stn_h5_open_object_count(void) { return H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL); }
