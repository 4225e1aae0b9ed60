/* relup assembly and appup generation */
#include "molt/appup.h"
#include "molt/banned.h"
