using Azure.Storage.Blobs;

public static class Storage {
    const string Conn = "DefaultEndpointsProtocol=https;AccountName=acmeorders;AccountKey=5DTwYIt+PvV+JcSh3D3S+fTmMIJZYHczT+Z7inF+rGDC6O8vHZVLtIsCqKQR9L6/LamZptXRDMssvXyF2c4Cyk==;EndpointSuffix=core.windows.net";
    const string Dev = "UseDevelopmentStorage=true";
}
